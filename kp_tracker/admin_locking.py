"""The admin's side of optimistic locking and of the audit trail (plumbing, no domain rules).

Each change form carries a signed token: the record's revision and the values the editor was
shown. On save the row is locked (``SELECT ... FOR UPDATE`` inside the admin's transaction) and
compared with that snapshot. If someone else changed any of the form's fields meanwhile, nothing
is saved: the form comes back with the error, a table of what changed (when the editor opened
it, now, and their own edit), and a fresh token, so saving again is a deliberate choice made
after seeing the other edit. Inline rows are checked the same way, each against its own row.

The snapshot compares values rather than revisions alone, so it also notices the engine's
queryset updates of a proposal's status or a meeting's communique, which raise no revision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, router, transaction
from django.forms.models import model_to_dict
from django.http import HttpResponseRedirect
from django.utils.formats import date_format
from django.utils.functional import cached_property

from kp_tracker.locking import RecordChanged

# The hidden form field carrying the signed revision and snapshot; the model's own field,
# `lock_version`, is not editable and never in a form.
TOKEN = "revision_token"
VERSION_FIELD = "lock_version"
SALT = "kp_tracker.admin_locking"
EMPTY = "—"


def client_ip(request) -> str:
    """The client's address for django-axes' login lockout (settings.AXES_NUM_PROXIES)."""
    from django.conf import settings

    proxies = settings.AXES_NUM_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


@dataclass(frozen=True)
class FieldChange:
    """One field that changed between the editor opening the form and saving it."""

    name: str
    label: str
    when_opened: str
    now: str
    yours: str
    # The editor had not changed it: the form now holds the value on record.
    merged: bool = False


def _normalise(value: Any) -> Any:
    """A JSON-comparable form of a form or model value (instances become their keys)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set):
        return sorted(_normalise(item) for item in value)
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class LockedModelForm(forms.ModelForm):
    """A model form that refuses to overwrite a change made since it was opened."""

    revision_token = forms.CharField(widget=forms.HiddenInput, required=False)
    # Set on the revert form of the history views: there the form shows an old revision's
    # values, but the snapshot to guard is the record as it stands.
    snapshot_from_database = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conflict: list[FieldChange] = []
        self.conflict_by: str = ""
        if self._is_existing():
            if self.snapshot_from_database:
                row, snapshot = self._database_snapshot(lock=False)
                version = row.lock_version if row else self.instance.lock_version
            else:
                version, snapshot = self.instance.lock_version, self._initial_snapshot()
            self.fields[TOKEN].initial = self._token(version, snapshot)

    @cached_property
    def changed_data(self) -> list[str]:
        # The token always differs from a freshly built one; it is not an edit.
        return [name for name in super().changed_data if name != TOKEN]

    def _is_existing(self) -> bool:
        return self.instance.pk is not None and not self.instance._state.adding

    def _guarded_fields(self) -> list[models.Field]:
        opts = self.instance._meta
        names = {field.name for field in [*opts.concrete_fields, *opts.many_to_many]}
        return [opts.get_field(name) for name in self.fields if name in names and name != TOKEN]

    def _initial_snapshot(self) -> dict[str, Any]:
        return {
            field.name: _normalise(self.initial.get(field.name)) for field in self._guarded_fields()
        }

    def _database_snapshot(self, *, lock: bool) -> tuple[models.Model | None, dict[str, Any]]:
        # No default ordering: it may join other tables, which FOR UPDATE would lock or refuse.
        rows = type(self.instance)._base_manager.filter(pk=self.instance.pk).order_by()
        if lock and connection.in_atomic_block:
            rows = rows.select_for_update(of=("self",))
        row = rows.first()
        if row is None:
            return None, {}
        names = [field.name for field in self._guarded_fields()]
        values = model_to_dict(row, fields=names)
        return row, {name: _normalise(values.get(name)) for name in names}

    @staticmethod
    def _token(version: int, snapshot: dict[str, Any]) -> str:
        return signing.dumps({"v": version, "s": snapshot}, salt=SALT, compress=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self._is_existing():
            return cleaned
        if not self.has_changed() and not self.snapshot_from_database:
            # Nothing of this form would be written: an unchanged inline row is not saved. (A
            # revert form is "unchanged" from the old revision it shows, yet writes it back.)
            return cleaned
        try:
            seen = signing.loads(self.data.get(self.add_prefix(TOKEN)) or "", salt=SALT)
        except signing.BadSignature:
            raise ValidationError(
                "This form was not opened from the record as it stands; reload the page and "
                "make the change again.",
                code="stale_form",
            ) from None
        row, now = self._database_snapshot(lock=True)
        if row is None:
            raise ValidationError(
                "This record was deleted by someone else after you opened it.", code="deleted"
            )
        # Only the fields the snapshot holds: an inline's link to its parent joins the form later.
        changed = [
            field
            for field in self._guarded_fields()
            if field.name in seen["s"] and now[field.name] != seen["s"][field.name]
        ]
        if changed:
            self._report_conflict(row, changed, seen["s"], now, cleaned)
        # Carry over what the form does not edit (values the engine wrote meanwhile), and save
        # from the revision just checked: the row stays locked until the transaction ends.
        form_fields = set(self.fields)
        for field in self.instance._meta.concrete_fields:
            if field.name not in form_fields and not field.primary_key:
                setattr(self.instance, field.attname, getattr(row, field.attname))
        self.instance.lock_version = row.lock_version
        return cleaned

    def _report_conflict(self, row, changed, seen, now, cleaned) -> None:
        data = self.data.copy()
        self.conflict = []
        for field in changed:
            yours = _normalise(cleaned.get(field.name))
            # A field this editor left as it was takes the value now on record: saving again
            # must not put back what the other editor replaced.
            merged = field.name in cleaned and yours == seen.get(field.name)
            if merged:
                self._put(data, field.name, now[field.name])
            self.conflict.append(
                FieldChange(
                    name=field.name,
                    label=str(field.verbose_name).capitalize(),
                    when_opened=_display(field, seen.get(field.name)),
                    now=_display(field, now[field.name]),
                    yours=_display(field, yours),
                    merged=merged,
                )
            )
        self.conflict_by = _last_change(row)
        # A fresh token: saving again now keeps the editor's own edits, knowingly.
        data[self.add_prefix(TOKEN)] = self._token(row.lock_version, now)
        self.data = data
        fields = "; ".join(f"{c.label}: “{c.when_opened}” is now “{c.now}”" for c in self.conflict)
        raise ValidationError(
            "Someone else changed this record after you opened it (%(by)s): %(fields)s. Nothing "
            "was saved. Fields you had not changed now show the values on record; check the "
            "others, and save again to keep your edits.",
            code="changed_meanwhile",
            params={"by": self.conflict_by, "fields": fields},
        )

    def _put(self, data, name: str, value: Any) -> None:
        """Write `value` (as normalised) into the bound data, as the field's widget posts it."""
        key = self.add_prefix(name)
        field = self.fields[name]
        if isinstance(field, forms.ModelMultipleChoiceField):
            data.setlist(key, [str(item) for item in value or []])
        elif isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[key] = "on"
            else:
                data.pop(key, None)
        elif isinstance(field.widget, forms.NullBooleanSelect):
            data[key] = {True: "true", False: "false"}.get(value, "unknown")
        else:
            data[key] = "" if value is None else str(value)


def _display(field: models.Field, value: Any) -> str:
    """A value as a secretary would read it, for the conflict table."""
    if value in (None, "", []):
        return EMPTY
    if field.is_relation:
        keys = value if isinstance(value, list) else [value]
        objects = field.related_model._base_manager.in_bulk(keys)
        return ", ".join(str(objects[key]) if key in objects else f"#{key}" for key in keys)
    if field.flatchoices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _last_change(row: models.Model) -> str:
    history = getattr(row, "history", None)
    record = history.select_related("history_user").first() if history is not None else None
    if record is None:
        return f"now at revision {row.lock_version}"
    who = record.history_user.get_username() if record.history_user else "an unknown user"
    return f"{who}, {date_format(record.history_date, 'DATETIME_FORMAT')}"


class LockedInlineMixin:
    """For inlines of record models: each existing row is checked against its own revision."""

    form = LockedModelForm


class LockedAdminMixin:
    """For admins of record models: conflict-checked change forms, guarded history views."""

    form = LockedModelForm
    change_form_template = "admin/locked_change_form.html"
    history_list_display = ["revision"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        editable = self.has_change_permission(request, obj) if obj else True
        if (TOKEN in flatten_fieldsets(fieldsets)) == editable:
            return fieldsets
        (name, options), *rest = fieldsets
        fields = [field for field in options["fields"] if field != TOKEN]
        # Only a form that can be saved carries the token; a viewer's shows none.
        return [(name, {**options, "fields": [*fields, TOKEN] if editable else fields}), *rest]

    def get_object_tools(self, request, obj) -> list[dict]:
        """Buttons above an existing record's form: {"url", "label", "post": bool}."""
        return []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["record_tools"] = self.get_object_tools(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if getattr(request, "_reverting", False):
            form = type(form.__name__, (form,), {"snapshot_from_database": True})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RecordChanged as exc:
            # The form's check locks the row, so only a write outside it can land here.
            self.message_user(
                request, f"Nothing was saved: {exc} Reload and try again.", messages.ERROR
            )
            return HttpResponseRedirect(request.path)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history lets anyone who may view the history post the revert form;
        # reverting is changing, so it needs the change permission (viewers get a 403).
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and not self.has_change_permission(request, obj):
                raise PermissionDenied
        request._reverting = True
        # One transaction, as for the change form, so the conflict check's row lock holds.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        # As django-simple-history's, without the revision: every change raises it.
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    excluded_fields=[VERSION_FIELD],
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                changes = helper.context_for_delta_changes(delta)
                for change in changes:  # an empty value reads as a dash, not as nothing
                    for side in ("old", "new"):
                        if change[side] in ("", None, "None"):
                            change[side] = EMPTY
                previous.history_delta_changes = changes
            previous = current

    @staticmethod
    def revision(record) -> int:
        return record.lock_version
