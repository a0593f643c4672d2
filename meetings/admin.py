from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from kp_tracker.admin_filters import year_filter
from kp_tracker.admin_io import ImportExportListMixin
from kp_tracker.admin_locking import LockedInlineMixin
from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Attendance, Meeting, Session
from meetings.resources import AgendaItemResource, MeetingResource
from meetings.services import agenda_version_copy, agenda_version_diff
from sources.admin import RecordAdmin


class AttendanceInline(admin.TabularInline):
    model = Attendance
    autocomplete_fields = ["participant"]
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(ImportExportListMixin, RecordAdmin):
    resource_classes = [MeetingResource]
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

    def get_object_tools(self, request, obj):
        return [
            {
                "url": reverse("admin:proposals_decision_record") + f"?meeting={obj.pk}",
                "label": "Record a decision",
            }
        ]


class AgendaEntryInline(LockedInlineMixin, admin.TabularInline):
    model = AgendaEntry
    autocomplete_fields = ["item", "removal_decision"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item", "removal_decision")


@admin.register(AgendaVersion)
class AgendaVersionAdmin(RecordAdmin):
    list_display = ["__str__", "meeting", "number", "dated"]
    list_filter = [year_filter("meeting__start_date", "meeting year")]
    list_select_related = ["meeting"]
    search_fields = ["label", "meeting__slug", "meeting__city"]
    autocomplete_fields = ["meeting", "sources"]
    inlines = [AgendaEntryInline]
    actions = ["copy_as_new_version"]

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/copy/",
                self.admin_site.admin_view(self.copy_view),
                name=f"{info}_copy",
            ),
            path(
                "<path:object_id>/diff/",
                self.admin_site.admin_view(self.diff_view),
                name=f"{info}_diff",
            ),
            *super().get_urls(),
        ]

    def get_object_tools(self, request, obj):
        tools = []
        if self.has_add_permission(request):
            tools.append(
                {
                    "url": reverse("admin:meetings_agendaversion_copy", args=[obj.pk]),
                    "label": "New version from this one",
                    "post": True,
                    "name": "_copy",
                }
            )
        if obj.number > 1:
            tools.append(
                {
                    "url": reverse("admin:meetings_agendaversion_diff", args=[obj.pk]),
                    "label": "Changes from the previous version",
                }
            )
        return tools

    def _copy(self, request, version: AgendaVersion) -> AgendaVersion:
        new = agenda_version_copy(version=version, actor=request.user)
        self.log_addition(request, new, [{"added": {}}])
        self.message_user(
            request,
            f"Version {new.number} drafted from version {version.number}, with its "
            f"{new.entries.count()} entries and sources: edit it, and replace the sources with "
            "the new draft's own.",
            messages.SUCCESS,
        )
        return new

    def copy_view(self, request, object_id):
        """POST only: draft version n+1 from this one, then open it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404
        new = self._copy(request, version)
        return HttpResponseRedirect(reverse("admin:meetings_agendaversion_change", args=[new.pk]))

    @admin.action(description="New version from the selected one", permissions=["add"])
    def copy_as_new_version(self, request, queryset):
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, "Select one version to copy.", messages.WARNING)
            return None
        new = self._copy(request, versions[0])
        return HttpResponseRedirect(reverse("admin:meetings_agendaversion_change", args=[new.pk]))

    def diff_view(self, request, object_id):
        """What changed between two versions of a meeting's agenda (default: the previous)."""
        new = self.get_object(request, unquote(object_id))
        if new is None:
            raise Http404
        if not self.has_view_or_change_permission(request, new):
            raise PermissionDenied
        others = AgendaVersion.objects.filter(meeting_id=new.meeting_id).exclude(pk=new.pk)
        against = request.GET.get("against", "")
        if against.isdigit():
            old = get_object_or_404(others, pk=against)
        else:
            old = others.filter(number__lt=new.number).order_by("-number").first()
            if old is None:
                old = others.order_by("number").first()
        if old is None:
            self.message_user(request, "This meeting has only one agenda version.", messages.INFO)
            return HttpResponseRedirect(
                reverse("admin:meetings_agendaversion_change", args=[new.pk])
            )
        try:
            diff = agenda_version_diff(old, new)
        except ValidationError as exc:  # pragma: no cover - the queryset above rules it out
            raise Http404 from exc
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Agenda of {new.meeting}: changes from v{old.number} to v{new.number}",
            "diff": diff,
            "versions": list(
                AgendaVersion.objects.filter(meeting_id=new.meeting_id).order_by("number")
            ),
            "original": new,
        }
        return TemplateResponse(request, "admin/meetings/agendaversion/diff.html", context)


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
class AgendaItemAdmin(ImportExportListMixin, RecordAdmin):
    resource_classes = [AgendaItemResource]
    list_display = ["title", "meeting", "time_slot_minutes", "removed_by"]
    list_filter = [year_filter("meeting__start_date", "meeting year")]
    list_select_related = ["meeting", "removed_by"]
    search_fields = ["title", "meeting__slug", "meeting__city"]
    autocomplete_fields = ["meeting", "proposers", "observer_proposers", "sources"]
    readonly_fields = ["removed_by"]  # set by the consensus engine
    inlines = [AgendaEntryHistoryInline]

    def get_object_tools(self, request, obj):
        url = reverse("admin:proposals_decision_record")
        return [
            {
                "url": f"{url}?meeting={obj.meeting_id}&agenda_item={obj.pk}",
                "label": "Record a decision on this item",
            }
        ]


@admin.register(AgendaEntry)
class AgendaEntryAdmin(RecordAdmin):
    list_display = ["item", "version", "status", "order", "removal_decision"]
    list_filter = ["status", year_filter("version__meeting__start_date", "meeting year")]
    # __str__ reads the item's title.
    list_select_related = ["item", "version", "removal_decision"]
    search_fields = ["item__title", "version__label", "version__meeting__slug"]
    autocomplete_fields = ["version", "item", "removal_decision"]


@admin.register(Session)
class SessionAdmin(RecordAdmin):
    list_display = ["title", "meeting", "date", "chaired_by", "press_excluded"]
    list_filter = [year_filter("date"), "press_excluded"]
    list_select_related = ["meeting", "chaired_by"]
    search_fields = ["title", "meeting__slug", "note"]
    autocomplete_fields = ["meeting", "chaired_by", "boycotted_by", "sources"]
