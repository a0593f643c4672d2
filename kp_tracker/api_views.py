"""View base classes and the OpenAPI schema class shared by every app's API.

Kept apart from `api_common.py` because DRF's views read settings.REST_FRAMEWORK on import,
and those settings name classes in `api_common.py`.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import quote_etag
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import mixins, permissions, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from kp_tracker.api_common import (
    CSVRenderer,
    EditorWriteOrReadOnly,
    ErrorSerializer,
    SourceKeysField,
)

# --------------------------------------------------------------------------------------------
# Views


class ApiViewMixin:
    """Behaviour every API view shares: permissions, throttle, CSV, ETag and the error shape."""

    permission_classes = [EditorWriteOrReadOnly]
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_filename: str | None = None
    # Any path segment reaches the view, so a malformed id is the API's JSON 404, not Django's
    # HTML page (DRF's default stops at dots).
    lookup_value_regex = "[^/]+"

    def get_csv_header(self) -> list[str]:
        """Columns of an empty CSV list: the fields of the view's (row) serializer."""
        serializer_class = getattr(self, "serializer_class", None)
        if serializer_class is None:
            return []
        return list(serializer_class().fields)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not isinstance(response, Response):
            return response
        if response.status_code >= 400 and isinstance(
            getattr(response, "accepted_renderer", None), CSVRenderer
        ):
            # Errors stay JSON whatever was asked for: a client can always read them.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        patch_vary_headers(response, ["Accept"])
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if isinstance(response.accepted_renderer, CSVRenderer):
            name = self.csv_filename or getattr(self, "basename", None) or "export"
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        # The ETag is a hash of the body, so it changes exactly when what the client would see
        # changes (any write, any format); a 304 saves the transfer, not the queries.
        response.render()
        # Django's set_response_etag skips empty bodies (an empty CSV); every 200 gets one here.
        response["ETag"] = quote_etag(
            hashlib.md5(response.content, usedforsecurity=False).hexdigest()
        )
        return get_conditional_response(request, etag=response["ETag"], response=response)


class ReadOnlyApiViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    pass


class AtomicWritesMixin:
    """Each write is one transaction: the row, its many-to-many links and whatever the signals
    recompute (outcomes through the engine) are saved together or not at all."""

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)


class ApiModelViewSet(
    ApiViewMixin,
    AtomicWritesMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    def _reload(self, serializer) -> None:
        # Answer with the row as the database now has it: what signals computed on save (the
        # engine's outcome and explanation) and the queryset's annotations.
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_create(self, serializer):
        serializer.save()
        self._reload(serializer)

    def perform_update(self, serializer):
        serializer.save()
        self._reload(serializer)


# --------------------------------------------------------------------------------------------
# OpenAPI


class SourceKeysExtension(OpenApiSerializerFieldExtension):
    """Writes must name at least one source; a record read back may have lost its last one
    (sources are deleted with their links), so only the request schema says minItems 1."""

    target_class = SourceKeysField

    def map_serializer_field(self, auto_schema, direction):
        schema = {
            "type": "array",
            "items": {"type": "string"},
            "description": "Keys of the sources the record rests on.",
        }
        if direction == "request":
            schema["minItems"] = 1
        return schema


ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a bad query parameter or body; `fields` names each problem.",
    "401": "Not authenticated: writing needs a token (`Authorization: Token ...`), and a token "
    "that is sent must be valid.",
    "403": "The token's user is not in the Secretariat editor group.",
    "404": "No such record, or no such page.",
    "406": "None of the formats in the Accept header can be served (JSON and CSV can).",
    "409": "Conflict: other records rest on this one, or a concurrent change clashed.",
    "429": "Too many requests from this address; retry after the Retry-After header's seconds.",
}


class KPAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus what every endpoint here shares: anonymous reads, the
    error responses in their one shape, and 304 for conditional GET."""

    def get_description(self):
        # Only a view's (or action's) own docstring describes it; the shared base classes'
        # docstrings are about plumbing, not the endpoint.
        view_class = self.view.__class__
        action = getattr(self.view, getattr(self.view, "action", None) or "", None)
        own = view_class.__dict__.get("__doc__") or getattr(action, "__doc__", None)
        return super().get_description() if own else ""

    def get_auth(self):
        auths = super().get_auth()
        perms = [p.__class__ for p in self.view.get_permissions()]
        if (
            EditorWriteOrReadOnly in perms
            and self.method in permissions.SAFE_METHODS
            and {} not in auths
        ):
            auths.append({})
        return auths

    def _has_path_parameters(self) -> bool:
        return "{" in self.path

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        safe = self.method in permissions.SAFE_METHODS
        codes = ["400", "401", "406", "429"]
        if self._has_path_parameters() or (safe and self._is_list_view()):
            codes.append("404")
        if not safe:
            codes += ["403", "409"]
        for code in sorted(codes):
            if code not in responses:
                response = self._get_response_for_code(
                    ErrorSerializer, code, media_types=["application/json"]
                )
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        if self.method == "GET" and "304" not in responses:
            responses["304"] = {
                "description": "Not modified: the ETag sent in If-None-Match still matches."
            }
        return dict(sorted(responses.items()))


def add_links(result, generator, request, public):
    """Postprocessing hook: OpenAPI links from each create to the read, update and delete of
    what it created (the response body's identifier fills the path), so that clients and
    schemathesis's stateful tests can follow them."""
    paths = result.get("paths", {})
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if not created:
            continue
        for detail_path, detail_operations in paths.items():
            prefix, _, rest = detail_path.partition(path)
            if prefix or not rest.startswith("{") or rest.count("/") != 1:
                continue
            parameter = rest[1 : rest.index("}")]
            links = created.setdefault("links", {})
            for method, verb in (
                ("get", "Get"),
                ("patch", "Update"),
                ("put", "Replace"),
                ("delete", "Delete"),
            ):
                if method in detail_operations:
                    links[f"{verb}Created"] = {
                        "operationId": detail_operations[method]["operationId"],
                        "parameters": {parameter: f"$response.body#/{parameter}"},
                    }
    return result


# Identifiers from the real record (record/*.yaml), shown in the docs' "Try it out" and used by
# schemathesis's examples phase to read real rows.
PATH_EXAMPLES = {
    "code": {"participants": "RU", "observers": "kpcsc", "veto-records": "RU"},
    "slug": {
        "meetings": "2022-intersessional-kasane",
        "people": "jacob-thamage",
        "letters": "2022-05-20-russia",
        "proposals": "2022-exclude-russia-from-kasane",
    },
    "key": {"sources": "reuters-2022-06-16"},
    "id": {"decisions": "2022-kasane-ukraine-item"},
    "rule": {"counterfactuals": "two_thirds"},
}


def add_path_examples(result, generator, request, public):
    """Postprocessing hook: an example for the path parameters of reads (see PATH_EXAMPLES)."""
    for path, operations in result.get("paths", {}).items():
        segments = [segment for segment in path.split("/") if segment]
        operation = operations.get("get")
        if not operation:
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "path":
                continue
            name = parameter["name"]
            position = segments.index("{" + name + "}")
            collection = segments[position - 1]
            example = PATH_EXAMPLES.get(name, {}).get(collection)
            if example is not None:
                parameter["example"] = example
    return result
