"""Import and export in the admin (django-import-export), the same way for every app.

Plumbing only: each app's `resources.py` says which columns a record has and how its public
identifiers (participant codes, meeting and decision slugs, source keys) name other records.
Imports are all or nothing: every row is validated (`full_clean`), a file with one bad row
imports nothing and the preview lists each row's errors; only a clean file can be confirmed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from import_export import fields, resources, widgets
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.formats import base_formats

from sources.models import Source

FORMATS = [base_formats.CSV, base_formats.XLSX]
# Lists inside a cell (sources, proposers) are separated by a vertical bar: names and titles
# hold commas, and a bar reads clearly in a spreadsheet.
SEPARATOR = "|"


class PublicKeyWidget(widgets.ForeignKeyWidget):
    """One record named by its public identifier; an unknown one is an error on its row."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                f"No {self.model._meta.verbose_name} has the {self.field} “{value}”."
            ) from None


class PublicKeysWidget(widgets.ManyToManyWidget):
    """Several records named by public identifiers; unknown ones are an error, not dropped."""

    def clean(self, value, row=None, **kwargs):
        found = super().clean(value, row, **kwargs)
        if not value:
            return found
        wanted = {key.strip() for key in str(value).split(self.separator) if key.strip()}
        missing = wanted - {str(getattr(obj, self.field)) for obj in found}
        if missing:
            raise ValueError(
                f"No {self.model._meta.verbose_name} has the {self.field} "
                + ", ".join(f"“{key}”" for key in sorted(missing))
                + "."
            )
        return found


def reference(column: str, model: type[models.Model], key: str, **kwargs) -> fields.Field:
    """A column naming one record by its public identifier (`key`)."""
    return fields.Field(
        attribute=kwargs.pop("attribute", column),
        column_name=column,
        widget=PublicKeyWidget(model, field=key),
        **kwargs,
    )


def references(column: str, model: type[models.Model], key: str, **kwargs) -> fields.Field:
    """A column naming several records by their public identifiers, separated by a bar."""
    return fields.Field(
        attribute=kwargs.pop("attribute", column),
        column_name=column,
        widget=PublicKeysWidget(model, separator=SEPARATOR, field=key),
        **kwargs,
    )


class RecordResource(resources.ModelResource):
    """A resource for a record model: validated, all or nothing, sources required."""

    sources = references("sources", Source, "key")

    class Meta:
        abstract = True
        use_transactions = True
        # A row that fails validation rolls the whole import back, as an exception does.
        rollback_on_validation_errors = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        if isinstance(f, models.TextField):
            return widgets.CharWidget
        return super().widget_from_django_field(f, default)

    @classmethod
    def widget_kwargs_for_field(cls, field_name, django_field):
        kwargs = super().widget_kwargs_for_field(field_name, django_field)
        # An empty spreadsheet cell is an empty text, as for CharField, not a NULL.
        if isinstance(django_field, models.TextField) and django_field.blank:
            kwargs.update(coerce_to_string=True, allow_blank=True)
        return kwargs

    def import_instance(self, instance, row, **kwargs) -> None:
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        # Many-to-many columns are written after the row is saved; check them now, so an
        # unknown key is an error on its row in the preview like any other.
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row:
                try:
                    field.clean(row)
                except ValueError as exc:
                    errors.setdefault(field.attribute, []).append(str(exc))
        if "sources" in self.fields and not str(row.get("sources") or "").strip():
            errors.setdefault("sources", []).append(
                "Name at least one source by its key (several separated by |)."
            )
        if errors:
            raise ValidationError(errors)


class ExportListMixin(ExportMixin):
    """Export any list, as filtered and searched, to CSV or Excel."""

    export_formats = FORMATS

    def has_export_permission(self, request) -> bool:
        return self.has_view_or_change_permission(request)

    def get_valid_export_item_pks(self, request):
        # The rows an export started from the list's action may name: those the list shows.
        return self.get_export_queryset(request).values_list("pk", flat=True)

    def get_export_queryset(self, request):
        # Many-to-many columns (sources) read from one prefetch, not a query per row.
        names = [field.name for field in self.model._meta.many_to_many]
        return super().get_export_queryset(request).prefetch_related(*names)


class ImportExportListMixin(ImportExportMixin, ExportListMixin):
    """Import from CSV or Excel with a preview, and export as above."""

    import_formats = FORMATS

    def has_import_permission(self, request) -> bool:
        # An import adds and changes rows: it needs both, as a Secretariat editor has.
        return self.has_add_permission(request) and self.has_change_permission(request)
