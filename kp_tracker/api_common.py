"""Plumbing shared by every app's API: one error shape, CSV, pagination, permissions,
throttling, ordering, full-text search, model validation. No domain logic lives here.

This module is what settings.REST_FRAMEWORK names, so it must not import DRF's views (which read
those settings when imported); the view base classes and the OpenAPI schema class are in
`kp_tracker/api_views.py`. Together they make every endpoint behave the same way:

- errors always have the shape `{"error": {"status", "code", "message", "fields"}}`;
- every list renders as CSV as well as JSON (`?format=csv` or `Accept: text/csv`);
- GET responses carry an ETag and answer `If-None-Match` with 304;
- reads are public and throttled per IP for anonymous clients; writes need a token of a user
  in the Secretariat editor group, and run in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, EmptyResultSet
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, models
from django.db.models import Prefetch, ProtectedError, Q, QuerySet, RestrictedError
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, permissions, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param

from kp_tracker.groups import EDITOR_GROUP
from kp_tracker.locking import RecordChanged

# --------------------------------------------------------------------------------------------
# The one error shape


class FieldErrorsField(serializers.DictField):
    """Documentation only: field name (dotted for nested input) to its messages."""

    child = serializers.ListField(child=serializers.CharField())


class ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    code = serializers.CharField(
        help_text="A stable machine-readable code, e.g. invalid, not_found, not_authenticated, "
        "permission_denied, throttled, conflict."
    )
    message = serializers.CharField(help_text="A human-readable summary.")
    fields = FieldErrorsField(
        help_text="For invalid input: each offending field (or query parameter) with its "
        "messages; `non_field_errors` for errors about the input as a whole.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error the API returns, whatever the status."""

    error = ErrorBodySerializer()


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field" or "field.0.sub": [messages]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in messages]}


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): messages
            for key, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {
        "error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}
    }


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The change conflicts with the record."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, then every error rewritten into the one shape.

    Deleting a record that others rest on (PROTECT) and races on unique constraints are
    conflicts (409), not server errors; Django's own validation errors are 400s.
    """
    if isinstance(exc, ProtectedError | RestrictedError):
        blockers = sorted(
            {str(obj._meta.verbose_name) for obj in exc.protected_objects}
            if isinstance(exc, ProtectedError)
            else {str(obj._meta.verbose_name) for obj in exc.restricted_objects}
        )
        # The write's own atomic block has rolled back already (AtomicWritesMixin).
        return Response(
            error_body(
                409,
                "conflict",
                "Other records rest on this one (" + ", ".join(blockers) + "); change or "
                "delete them first.",
            ),
            status=409,
        )
    if isinstance(exc, RecordChanged):
        return Response(
            error_body(
                409,
                "conflict",
                f"Changed meanwhile: revision {exc.instance.lock_version} was read, the record "
                f"is now at revision {exc.current_version}. Read it again and retry.",
            ),
            status=409,
        )
    if isinstance(exc, IntegrityError):
        return Response(
            error_body(409, "conflict", "The change conflicts with the record: " + str(exc)),
            status=409,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            response.status_code, "invalid", "Invalid input.", flatten_errors(exc.detail)
        )
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = (
            str(detail)
            if not isinstance(detail, dict | list)
            else "; ".join(m for ms in flatten_errors(detail).values() for m in ms)
        )
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(response.status_code, code, message)
    return response


# --------------------------------------------------------------------------------------------
# CSV


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return "; ".join(_csv_cell(item) for item in value)
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    # Spreadsheets run cells that start like a formula; researchers open these files in them.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def _flatten_row(row: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict) for v in value.values())
        ):
            flat.update(_flatten_row(value, name))
        else:
            flat[name] = value
    return flat


class CSVRenderer(BaseRenderer):
    """Lists as CSV: one row per item, nested objects as dotted columns, lists of plain values
    joined with "; ", anything deeper as JSON in its cell. Pagination links go in the Link
    header rather than the body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data]
        flat_rows = [_flatten_row(row) if isinstance(row, dict) else {"value": row} for row in rows]
        header: dict[str, None] = OrderedDict()
        if not flat_rows:
            # An empty list still gets its header row: the columns say what would be there.
            view = (renderer_context or {}).get("view")
            names = view.get_csv_header() if hasattr(view, "get_csv_header") else []
            header.update(dict.fromkeys(names or ["value"]))
        for row in flat_rows:
            for key in row:
                header.setdefault(key, None)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if header:
            writer.writerow(list(header))
        for row in flat_rows:
            writer.writerow([_csv_cell(row.get(key)) for key in header])
        return buffer.getvalue().encode(self.charset)


class StrictContentNegotiation(DefaultContentNegotiation):
    """`?format=` must name a format the endpoint serves: anything else (including an empty
    value) is a 406, like an Accept header that cannot be met, rather than DRF's 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        name = self.settings.URL_FORMAT_OVERRIDE
        if name and name in request.query_params:
            wanted = request.query_params[name]
            if wanted not in {renderer.format for renderer in renderers}:
                raise exceptions.NotAcceptable(
                    f"Unknown format {wanted!r}; use one of "
                    + ", ".join(renderer.format for renderer in renderers)
                    + "."
                )
        return super().select_renderer(request, renderers, format_suffix)


# --------------------------------------------------------------------------------------------
# Permissions and throttling


def is_editor(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    cached = getattr(user, "_kp_is_editor", None)
    if cached is None:
        cached = user.is_superuser or user.groups.filter(name=EDITOR_GROUP).exists()
        user._kp_is_editor = cached
    return cached


class EditorWriteOrReadOnly(permissions.BasePermission):
    """Secretariat editor can write, everyone can read.

    Anonymous writes get 401 (DRF answers NotAuthenticated when no authenticator succeeded),
    authenticated users outside the editor group 403.
    """

    message = "Only members of the Secretariat editor group may change the record."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_editor(request.user)


class AnonReadThrottle(AnonRateThrottle):
    """Per-IP throttle on anonymous clients.

    Reads the rate when each request arrives, not at import as DRF does, so settings overrides
    (tests, the benchmark) take effect.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


# --------------------------------------------------------------------------------------------
# Pagination


def _strict_positive_int(request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["A whole number is required."]}) from None
    if not 1 <= value <= maximum:
        raise exceptions.ValidationError({name: [f"Must be between 1 and {maximum}."]})
    return value


class StandardPagination(PageNumberPagination):
    """Page numbers for the smaller lists (participants, meetings, proposals...)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        return _strict_positive_int(
            request, self.page_size_query_param, self.page_size, self.max_page_size
        )

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        _link_header(response, self.get_next_link(), self.get_previous_link())
        return response

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            name = parameter["name"]
            if name == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if name == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


def _link_header(response: Response, next_link: str | None, previous_link: str | None) -> None:
    links = [
        f'<{url}>; rel="{rel}"'
        for url, rel in ((next_link, "next"), (previous_link, "prev"))
        if url
    ]
    if links:
        response["Link"] = ", ".join(links)


class KeysetPagination(BasePagination):
    """Cursor pagination on a composite key, for the large lists.

    DRF's CursorPagination positions on the first ordering column only and pages through ties
    by offset, capped at 1,000: a meeting's date shared by thousands of objections breaks it.
    Here the cursor holds the whole key (e.g. date, id), and the next page is found with a
    row comparison that an index can serve, so page 500 costs what page 1 does.

    The view declares `keyset_orderings`: {"-date": ("-date_key", "-id"), ...}, the first being
    the default; every key ends with a unique column and no column may be NULL.
    """

    page_size = 50
    max_page_size = 1000
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"

    def _orderings(self, view) -> dict[str, tuple[str, ...]]:
        return view.keyset_orderings

    def _ordering(self, request, view) -> tuple[str, ...]:
        orderings = self._orderings(view)
        name = request.query_params.get(self.ordering_query_param) or next(iter(orderings))
        if name not in orderings:
            raise exceptions.ValidationError(
                {self.ordering_query_param: [f"Use one of: {', '.join(orderings)}."]}
            )
        return orderings[name]

    def _decode(self, request) -> tuple[list, bool] | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            payload = json.loads(
                base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4))
            )
            values, reverse = payload["v"], bool(payload.get("r"))
            if not isinstance(values, list) or not all(
                isinstance(v, str) or (isinstance(v, int) and abs(v) < 2**62) for v in values
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Invalid cursor."]}
            ) from None
        return values, reverse

    def _encode(self, values: list, reverse: bool) -> str:
        payload = json.dumps({"v": values, "r": 1 if reverse else 0}, separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(payload.encode()).decode("ascii").rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    @staticmethod
    def _position(row, ordering: Sequence[str]) -> list:
        values = []
        for field in ordering:
            name = field.lstrip("-")
            value = row[name] if isinstance(row, dict) else getattr(row, name)
            values.append(value if isinstance(value, int | str) else str(value))
        return values

    @staticmethod
    def _after(ordering: Sequence[str], values: list, reverse: bool) -> Q:
        """Rows strictly after `values` in `ordering` (before, when paging back)."""
        condition = Q()
        for index, field in enumerate(ordering):
            name = field.lstrip("-")
            descending = field.startswith("-") != reverse
            step = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[index]})
            for previous, value in zip(ordering[:index], values[:index], strict=True):
                step &= Q(**{previous.lstrip("-"): value})
            condition |= step
        return condition

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self.request = request
        self.base_url = remove_query_param(request.build_absolute_uri(), self.cursor_query_param)
        size = _strict_positive_int(
            request, self.page_size_query_param, self.page_size, self.max_page_size
        )
        ordering = self._ordering(request, view)
        cursor = self._decode(request)
        if cursor and len(cursor[0]) != len(ordering):
            raise exceptions.ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        reverse = bool(cursor and cursor[1])
        # A view may fetch the page itself (a prepared query for its commonest shapes); it
        # returns None when it cannot, and the queryset is paged as usual.
        fetch = getattr(view, "keyset_fetch", None)
        rows = fetch(ordering, cursor[0] if cursor else None, reverse, size + 1) if fetch else None
        if rows is None:
            order_by = [
                (f[1:] if f.startswith("-") else f"-{f}") if reverse else f for f in ordering
            ]
            queryset = queryset.order_by(*order_by)
            if cursor:
                try:
                    queryset = queryset.filter(self._after(ordering, cursor[0], reverse))
                except (ValueError, TypeError, DjangoValidationError):
                    raise exceptions.ValidationError(
                        {self.cursor_query_param: ["Invalid cursor."]}
                    ) from None
            rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        self.next_link = self.previous_link = None
        if rows:
            if more if not reverse else True:
                self.next_link = self._encode(self._position(rows[-1], ordering), False)
            if (cursor is not None) if not reverse else more:
                self.previous_link = self._encode(self._position(rows[0], ordering), True)
        return rows

    def get_paginated_response(self, data):
        response = Response(
            OrderedDict(
                [("next", self.next_link), ("previous", self.previous_link), ("results", data)]
            )
        )
        _link_header(response, self.next_link, self.previous_link)
        return response

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of the page to fetch, from `next` or `previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Rows per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": "Sort order; the first is the default.",
                "schema": {"type": "string", "enum": list(self._orderings(view))},
            },
        ]


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=` with one of the view's `ordering_fields` (or its `-` form), else a 400:
    a misspelt sort key silently ignored would return rows in an order nobody asked for."""

    def _choices(self, view) -> list[str]:
        fields = getattr(view, "ordering_fields", None) or ()
        return [choice for name in fields for choice in (name, f"-{name}")]

    def filter_queryset(self, request, queryset, view):
        if not self._choices(view):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if not raw:
            return self.get_default_ordering(view)
        if raw not in self._choices(view):
            raise exceptions.ValidationError(
                {self.ordering_param: [f"Use one of: {', '.join(self._choices(view))}."]}
            )
        default = self.get_default_ordering(view) or ()
        return [raw, *[field for field in default if field.lstrip("-") != raw.lstrip("-")]]

    def get_schema_operation_parameters(self, view):
        if not self._choices(view):
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort order (`-` for descending).",
                "schema": {"type": "string", "enum": self._choices(view)},
            }
        ]


class QuickFilterBackend(DjangoFilterBackend):
    """django-filter, skipped when the query names none of the filters: building the filter
    form costs ~3 ms a request on the benchmark machine, a third of an objections page."""

    def filter_queryset(self, request, queryset, view):
        declared = getattr(view, "filterset_class", None)
        if declared is not None and not any(
            name in request.query_params for name in declared.base_filters
        ):
            return queryset
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not any(
            name in request.query_params for name in filterset_class.base_filters
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)


class ApiFilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, but a typed parameter given empty (`?year=`, `?date_to=`,
    `?kind=`) is a 400, as any other value the schema does not allow; text filters may be
    empty, which filters nothing."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) and not isinstance(
                filter_, django_filters.ChoiceFilter
            ):
                continue
            if name in self.data and self.data.get(name) == "":
                if name not in self.form.errors:
                    self.form.add_error(name, "A value is required when the parameter is given.")
                valid = False
        return valid


class StrictBooleanFormField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "True"):
            return True
        if value in ("false", "False"):
            return False
        raise forms.ValidationError("Use true or false.")


@extend_schema_field({"type": "boolean"})
class StrictBooleanFilter(django_filters.BooleanFilter):
    """`true` or `false`, anything else a 400 (django-filter would ignore `?removed=maybe`)."""

    field_class = StrictBooleanFormField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 9999})
class YearFilter(django_filters.NumberFilter):
    """A calendar year (1 to 9999): a whole number, so `?year=0` or `?year=1e9` is a 400
    rather than a date the database cannot represent."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 9999)
        kwargs.setdefault("help_text", "A year, e.g. 2022.")
        super().__init__(*args, **kwargs)


class QuerySerializer(serializers.Serializer):
    """Validates an endpoint's own query parameters. As with filters, a parameter given empty
    is a 400 unless it is text that may be blank."""

    def to_internal_value(self, data):
        empty = {
            name: ["A value is required when the parameter is given."]
            for name, field in self.fields.items()
            if data.get(name) == "" and not getattr(field, "allow_blank", False)
        }
        if empty:
            raise exceptions.ValidationError(empty)
        return super().to_internal_value(data)


# --------------------------------------------------------------------------------------------
# Prepared queries for the hot reads


class PreparedQuery:
    """A fixed-shape `.values_list()` query, compiled to SQL once per process and shape.

    Compiling an ORM query costs more than running it on the hot reads: 4.1 of the 7.3 ms of a
    meeting's agenda's four queries on the benchmark machine (docs/benchmarks.md, API). `build`
    makes the queryset from keyword parameters (strings, integers, or lists of integers);
    parameters named with a leading underscore are structural (an ordering, a page size) and
    passed as they are. On PostgreSQL the queryset is built once per shape (the structural
    values, which parameters are given, the lengths of lists) with stand-in values, and later
    calls run the same SQL with the real ones; the columns must need no conversion from what
    psycopg2 returns (no JSON). Elsewhere (SQLite) it is simply the ORM.
    """

    def __init__(self, build):
        self.build = build
        self._compiled: dict[tuple, tuple[str, list, dict] | None] = {}

    @staticmethod
    def _stand_in(name: str, value, index: int):
        if isinstance(value, list | tuple | set | frozenset):
            return [-(10**15) - 1000 * index - i for i in range(len(value))]
        if isinstance(value, int):
            return -(10**15) - 1000 * index
        return f"\x00{name}\x00"

    def rows(self, **params) -> list[tuple]:
        if connection.vendor != "postgresql":
            return list(self.build(**params))
        structure = {name: value for name, value in params.items() if name.startswith("_")}
        params = {
            name: sorted(value) if isinstance(value, set | frozenset) else value
            for name, value in params.items()
            if not name.startswith("_")
        }
        shape = tuple(sorted(structure.items())) + tuple(
            (name, len(value) if isinstance(value, list | tuple) else None)
            for name, value in sorted(params.items())
        )
        if shape in self._compiled and self._compiled[shape] is None:
            return []
        compiled = self._compiled.get(shape)
        if compiled is None:
            stand_ins = {
                name: self._stand_in(name, value, index)
                for index, (name, value) in enumerate(sorted(params.items()))
            }
            try:
                sql, template = self.build(**structure, **stand_ins).query.sql_with_params()
            except EmptyResultSet:  # e.g. `pk__in=[]`: nothing to ask the database
                self._compiled[shape] = None
                return []
            wanted = {}
            for name, stand_in in stand_ins.items():
                if isinstance(stand_in, list):
                    wanted.update(
                        {item: (name, position) for position, item in enumerate(stand_in)}
                    )
                else:
                    wanted[stand_in] = (name, None)
            slots = {
                index: wanted[value]
                for index, value in enumerate(template)
                if isinstance(value, str | int) and value in wanted
            }
            if {slot[0] for slot in slots.values()} != set(stand_ins):
                raise ValueError("A parameter of the prepared query did not reach its SQL.")
            compiled = self._compiled[shape] = (sql, list(template), slots)
        sql, template, slots = compiled
        values = list(template)
        for slot, (name, position) in slots.items():
            values[slot] = params[name] if position is None else params[name][position]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall()


# --------------------------------------------------------------------------------------------
# Full-text search


def text_search(queryset: QuerySet, fields: Sequence[str], query: str, vector=None) -> QuerySet:
    """Rows matching `query` in any of `fields`.

    PostgreSQL: full-text search (English stemming, web-search syntax: quoted phrases, `or`,
    `-word`) on `vector`, by default one over `fields` (pass the exact expression of an index
    to have it used). Elsewhere (SQLite): every word must appear, case-insensitively, in some
    field.
    """
    query = query.strip()
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = vector if vector is not None else SearchVector(*fields, config="english")
        return queryset.alias(_search=vector).filter(
            _search=SearchQuery(query, config="english", search_type="websearch")
        )
    for word in query.split():
        word = word.strip("\"'")
        if not word:
            continue
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(match)
    return queryset


class StrictStringMixin:
    """JSON strings only: DRF would accept 0 for a text field and store "0"."""

    default_error_messages = {"not_a_string": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    pass


class StrictURLField(StrictStringMixin, serializers.URLField):
    pass


class StrictIntegerField(serializers.IntegerField):
    """JSON integers only: DRF would accept "5" and 5.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true and false only: DRF would accept "yes", 1 and "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictSlugRelatedField(serializers.SlugRelatedField):
    """A record named by its public identifier, which is a string: 0 is not the key "0", and
    "" is not null (DRF reads an empty string as null for relations)."""

    default_error_messages = {"blank": "This field may not be blank; send null for none."}

    def run_validation(self, data=serializers.empty):
        if data == "":
            self.fail("blank")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CleanModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that runs the model's own validation (`full_clean`: field checks,
    `clean()`, unique and check constraints) before saving, so input the database would refuse
    is a 400 with field errors rather than a 500.

    `required_sources`: every fact rests on a source; writes must name at least one.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
        models.IntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField

    def get_fields(self):
        fields = super().get_fields()
        if hasattr(self.Meta.model, "lock_version"):
            # Optimistic locking (kp_tracker/locking.py): send back the revision you read and a
            # write made meanwhile by someone else is refused with 409 instead of overwritten.
            fields["revision"] = StrictIntegerField(
                source="lock_version",
                required=False,
                min_value=1,
                help_text="The record's revision, raised by every save. Send the one you read "
                "with a change: if the record moved on meanwhile, the write is refused (409).",
            )
        return fields

    def get_validators(self):
        # full_clean() below checks unique fields, unique and check constraints (conditions
        # included); DRF's own unique-together validators would make optional fields required.
        return []

    def get_uniqueness_extra_kwargs(self, field_names, declared_fields, extra_kwargs):
        return extra_kwargs, {}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        revision = attrs.pop("lock_version", None)
        if revision is not None and self.instance is not None:
            if revision != self.instance.lock_version:
                raise Conflict(
                    f"Changed meanwhile: you sent revision {revision}, the record is at "
                    f"revision {self.instance.lock_version}. Read it again and retry."
                )
        model = self.Meta.model
        many = {field.name for field in model._meta.many_to_many}
        plain = {key: value for key, value in attrs.items() if key not in many}
        if self.instance is not None:
            candidate = model(
                **{
                    f.attname: getattr(self.instance, f.attname)
                    for f in model._meta.concrete_fields
                }
            )
            candidate._state.adding = False
            for key, value in plain.items():
                setattr(candidate, key, value)
        else:
            candidate = model(**plain)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(django_errors(exc)) from None
        return attrs


def sources_prefetch(lookup: str = "sources") -> Prefetch:
    """The sources of each row as keys only: one query per page, whatever its size."""
    from sources.models import Source

    return Prefetch(lookup, queryset=Source.objects.only("id", "key").order_by())


class SourceKeysField(serializers.ManyRelatedField):
    """Sources by key; at least one on writes (documented by api_views.SourceKeysExtension)."""


def source_keys_field(**kwargs) -> serializers.ManyRelatedField:
    """Every fact rests on a source: writes must name at least one, by key."""
    from sources.models import Source

    return SourceKeysField(
        child_relation=StrictSlugRelatedField(slug_field="key", queryset=Source.objects.all()),
        allow_empty=False,
        help_text="Keys of the sources the record rests on (at least one).",
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# OpenAPI


def rule_parameters() -> list[OpenApiParameter]:
    from proposals.consensus import rules

    return [
        OpenApiParameter(
            "rule",
            str,
            enum=list(rules.RULES),
            description="A decision rule: "
            + "; ".join(f"`{name}`: {rule.title}" for name, rule in rules.RULES.items()),
        ),
        OpenApiParameter(
            "counting",
            str,
            enum=list(rules.COUNTINGS),
            description="`silence_as_consent` (default): participants taking part with no "
            "recorded position consent; `recorded`: only positions on record count.",
        ),
    ]
