from django.contrib import admin
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from kp_tracker.admin_filters import year_filter
from kp_tracker.admin_io import ExportListMixin
from kp_tracker.admin_locking import LockedAdminMixin
from sources.models import Source


class SourcesLast:
    """Admin mixin for forms of `Sourced` models: `sources` goes last.

    As a field of the abstract base class it would otherwise come first, above the fact it
    supports.
    """

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if "sources" in fields:
            fields.remove("sources")
            fields.append("sources")
        return fields


class RecordAdmin(ExportListMixin, LockedAdminMixin, SourcesLast, SimpleHistoryAdmin):
    """The admin of a record model: exportable lists, conflict-checked forms, history with
    revert, sources last. Every record model's admin builds on it."""


@admin.register(Source)
class SourceAdmin(RecordAdmin):
    list_display = ["publisher", "title", "kind", "published", "key"]
    list_filter = [year_filter("published_on"), "kind"]
    search_fields = ["key", "publisher", "title", "url", "archive_copy"]
    # A URL typed without a scheme is read as https (Django 6's default, stated now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="published", ordering="published_on")
    def published(self, source: Source) -> str:
        return source.published_display
