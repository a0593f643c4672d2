from django.contrib import admin

from kp_tracker.admin_filters import year_filter
from kp_tracker.admin_io import ImportExportListMixin
from kp_tracker.admin_locking import LockedInlineMixin
from participants.models import (
    Chairmanship,
    Observer,
    Participant,
    ParticipantStatus,
    Person,
    Role,
    WorkingBody,
)
from participants.resources import ParticipantResource
from sources.admin import RecordAdmin, SourcesLast


class ParticipantStatusInline(LockedInlineMixin, SourcesLast, admin.TabularInline):
    model = ParticipantStatus
    autocomplete_fields = ["sources"]
    extra = 0


class RoleInline(LockedInlineMixin, SourcesLast, admin.TabularInline):
    model = Role
    autocomplete_fields = ["person", "participant", "observer", "sources"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "participant", "observer")


class ParticipantRoleInline(RoleInline):
    exclude = ["observer"]


class ObserverRoleInline(RoleInline):
    exclude = ["participant"]


class ChairmanshipInline(LockedInlineMixin, SourcesLast, admin.TabularInline):
    model = Chairmanship
    autocomplete_fields = ["participant", "person", "sources"]
    extra = 0


@admin.register(Participant)
class ParticipantAdmin(ImportExportListMixin, RecordAdmin):
    resource_classes = [ParticipantResource]
    list_display = ["name", "code", "kind", "joined_on"]
    list_filter = ["kind", year_filter("joined_on", "year joined")]
    search_fields = ["code", "name"]
    autocomplete_fields = ["sources"]
    inlines = [ParticipantStatusInline, ParticipantRoleInline]


@admin.register(ParticipantStatus)
class ParticipantStatusAdmin(RecordAdmin):
    list_display = ["participant", "status", "start_date", "end_date"]
    list_filter = ["status", year_filter("start_date", "year begun")]
    list_select_related = ["participant"]
    search_fields = ["participant__code", "participant__name", "note"]
    autocomplete_fields = ["participant", "sources"]


@admin.register(Observer)
class ObserverAdmin(RecordAdmin):
    list_display = ["name", "code"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["sources"]
    inlines = [ObserverRoleInline]


@admin.register(Person)
class PersonAdmin(RecordAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["sources"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RoleInline]


@admin.register(Role)
class RoleAdmin(RecordAdmin):
    list_display = ["person", "title", "participant", "observer", "start_date", "end_date"]
    list_filter = [year_filter("start_date", "year begun")]
    list_select_related = ["person", "participant", "observer"]
    search_fields = ["person__name", "title", "organisation", "participant__name", "observer__name"]
    autocomplete_fields = ["person", "participant", "observer", "sources"]


@admin.register(WorkingBody)
class WorkingBodyAdmin(RecordAdmin):
    list_display = ["name", "kind", "slug"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    autocomplete_fields = ["sources"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ChairmanshipInline]


@admin.register(Chairmanship)
class ChairmanshipAdmin(RecordAdmin):
    list_display = ["__str__", "year", "body", "participant", "person", "vice"]
    list_filter = ["year", "vice", "body"]
    # __str__ reads body and participant.
    list_select_related = ["body", "participant", "person"]
    search_fields = ["participant__name", "participant__code", "person__name", "body__name"]
    autocomplete_fields = ["body", "participant", "person", "sources"]
