from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kp_tracker.admin_filters import year_filter
from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Attendance, Meeting, Session
from sources.admin import SourcesLast


class AttendanceInline(admin.TabularInline):
    model = Attendance
    autocomplete_fields = ["participant"]
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "slug",
        "kind",
        "start_date",
        "end_date",
        "host",
        "communique_adopted",
    ]
    list_filter = [year_filter("start_date"), "kind", "communique_adopted"]
    list_select_related = ["host"]
    search_fields = ["slug", "title", "city", "country"]
    autocomplete_fields = ["host", "chair", "chair_person", "sources"]
    inlines = [AttendanceInline]


class AgendaEntryInline(admin.TabularInline):
    model = AgendaEntry
    autocomplete_fields = ["item", "removal_decision"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item", "removal_decision")


@admin.register(AgendaVersion)
class AgendaVersionAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["__str__", "meeting", "number", "dated"]
    list_filter = [year_filter("meeting__start_date", "meeting year")]
    list_select_related = ["meeting"]
    search_fields = ["label", "meeting__slug", "meeting__city"]
    autocomplete_fields = ["meeting", "sources"]
    inlines = [AgendaEntryInline]


class AgendaEntryHistoryInline(admin.TabularInline):
    """The item's status in each agenda version, read-only: entries are edited per version."""

    model = AgendaEntry
    verbose_name_plural = "status in each agenda version"
    fields = ["version", "status", "order", "time_slot_minutes", "removal_decision", "note"]
    readonly_fields = fields
    ordering = ["version__number"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("version", "removal_decision")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AgendaItem)
class AgendaItemAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["title", "meeting", "time_slot_minutes", "removed_by"]
    list_filter = [year_filter("meeting__start_date", "meeting year")]
    list_select_related = ["meeting", "removed_by"]
    search_fields = ["title", "meeting__slug", "meeting__city"]
    autocomplete_fields = ["meeting", "proposers", "observer_proposers", "sources"]
    readonly_fields = ["removed_by"]  # set by the consensus engine
    inlines = [AgendaEntryHistoryInline]


@admin.register(AgendaEntry)
class AgendaEntryAdmin(SimpleHistoryAdmin):
    list_display = ["item", "version", "status", "order", "removal_decision"]
    list_filter = ["status", year_filter("version__meeting__start_date", "meeting year")]
    # __str__ reads the item's title.
    list_select_related = ["item", "version", "removal_decision"]
    search_fields = ["item__title", "version__label", "version__meeting__slug"]
    autocomplete_fields = ["version", "item", "removal_decision"]


@admin.register(Session)
class SessionAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["title", "meeting", "date", "chaired_by", "press_excluded"]
    list_filter = [year_filter("date"), "press_excluded"]
    list_select_related = ["meeting", "chaired_by"]
    search_fields = ["title", "meeting__slug", "note"]
    autocomplete_fields = ["meeting", "chaired_by", "boycotted_by", "sources"]
