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


def reference(column: str, model: type[models.Model], key: str, **kwargs) -> fields.Field:
    """A column naming one record by its public identifier (`key`)."""
    return fields.Field(
        attribute=kwargs.pop("attribute", column),
        column_name=column,
        widget=widgets.ForeignKeyWidget(model, field=key),
        **kwargs,
    )


def references(column: str, model: type[models.Model], key: str, **kwargs) -> fields.Field:
    """A column naming several records by their public identifiers, separated by a bar."""
    return fields.Field(
        attribute=kwargs.pop("attribute", column),
        column_name=column,
        widget=widgets.ManyToManyWidget(model, separator=SEPARATOR, field=key),
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

    def import_instance(self, instance, row, **kwargs) -> None:
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
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
