from django.contrib import admin
from django.urls import path, reverse

from kp_tracker.admin_filters import year_filter
from kp_tracker.admin_io import ImportExportListMixin
from kp_tracker.admin_locking import LockedInlineMixin
from proposals.admin_record import record_view
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount
from proposals.resources import PositionResource
from sources.admin import RecordAdmin, SourcesLast


class QuoteInline(LockedInlineMixin, admin.StackedInline):
    model = Quote
    autocomplete_fields = ["speaker", "source"]
    extra = 0


class CarriedProposalInline(admin.TabularInline):
    """The proposals a letter carries (Proposal.letters, edited from the letter's side too)."""

    model = Proposal.letters.through
    verbose_name = "proposal it carries"
    verbose_name_plural = "proposals it carries"
    autocomplete_fields = ["proposal"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("proposal")


class StatedPositionInline(LockedInlineMixin, SourcesLast, admin.TabularInline):
    """The positions a letter states, each on its decision."""

    model = Position
    fk_name = "letter"
    verbose_name = "position it states"
    verbose_name_plural = "positions it states"
    fields = ["decision", "participant", "observer", "stance", "reason", "sources"]
    autocomplete_fields = ["decision", "participant", "observer", "sources"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("decision", "participant", "observer")


@admin.register(Letter)
class LetterAdmin(RecordAdmin):
    list_display = ["subject", "dated", "publicity", "signatory", "slug"]
    list_filter = [year_filter("date"), "publicity", "authors"]
    list_select_related = ["signatory"]
    search_fields = ["slug", "subject", "summary", "signatory__name", "signatory_label"]
    autocomplete_fields = ["authors", "observer_authors", "signatory", "sources"]
    prepopulated_fields = {"slug": ["subject"]}
    inlines = [CarriedProposalInline, StatedPositionInline, QuoteInline]

    @admin.display(description="date", ordering="date")
    def dated(self, letter: Letter) -> str:
        return letter.date_display


@admin.register(Quote)
class QuoteAdmin(RecordAdmin):
    list_display = ["text", "speaker_label", "letter", "source"]
    list_select_related = ["letter", "source"]
    search_fields = ["text", "speaker_label", "speaker__name"]
    autocomplete_fields = ["letter", "speaker", "source"]


@admin.register(Proposal)
class ProposalAdmin(RecordAdmin):
    list_display = ["title", "kind", "meeting", "status", "slug"]
    list_filter = [year_filter("meeting__start_date", "meeting year"), "kind", "status"]
    list_select_related = ["meeting"]
    search_fields = ["slug", "title", "summary"]
    autocomplete_fields = [
        "sponsors",
        "observer_sponsors",
        "letters",
        "meeting",
        "agenda_item",
        "sources",
    ]

    def get_object_tools(self, request, obj):
        if obj.meeting_id is None:
            return []
        url = reverse("admin:proposals_decision_record")
        return [
            {
                "url": f"{url}?meeting={obj.meeting_id}&proposal={obj.pk}",
                "label": "Record a decision on this proposal",
            }
        ]


class PositionInline(LockedInlineMixin, SourcesLast, admin.TabularInline):
    model = Position
    autocomplete_fields = ["participant", "observer", "letter", "sources"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("participant", "observer", "letter")


class ReportedAccountInline(LockedInlineMixin, SourcesLast, admin.StackedInline):
    model = ReportedAccount
    autocomplete_fields = ["named_objectors", "sources"]
    extra = 0


@admin.register(Decision)
class DecisionAdmin(RecordAdmin):
    list_display = [
        "title",
        "meeting",
        "subject_kind",
        "method",
        "date",
        "reported_outcome",
        "outcome",
    ]
    list_filter = [
        # A decision's year is that of its effective date: its own, else its meeting's.
        year_filter("effective_date"),
        "subject_kind",
        "method",
        "outcome",
        "reported_outcome",
        "positions_complete",
    ]
    list_select_related = ["meeting"]
    search_fields = ["slug", "title", "summary"]
    autocomplete_fields = ["agenda_item", "proposal", "meeting", "parties_concerned", "sources"]
    # Written by the consensus engine from the positions; editing them by hand would be undone.
    readonly_fields = ["outcome", "explanation", "counterfactuals"]
    fieldsets = [
        (None, {"fields": ["slug", "title", "summary"]}),
        ("Subject", {"fields": ["subject_kind", "agenda_item", "proposal", "meeting"]}),
        ("How and when", {"fields": ["method", "date", "date_precision"]}),
        (
            "Outcome",
            {
                "fields": [
                    "positions_complete",
                    "parties_concerned",
                    "reported_outcome",
                    "outcome",
                    "explanation",
                    "counterfactuals",
                ]
            },
        ),
        ("Sources", {"fields": ["sources"]}),
    ]
    inlines = [PositionInline, ReportedAccountInline]
    change_list_template = "admin/proposals/decision/change_list.html"

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "record/",
                self.admin_site.admin_view(self.record_view),
                name=f"{info}_record",
            ),
            path(
                "<path:object_id>/record/",
                self.admin_site.admin_view(self.record_view),
                name=f"{info}_record",
            ),
            *super().get_urls(),
        ]

    def record_view(self, request, object_id=None):
        """One page: the decision, every participant's position, then the outcome."""
        return record_view(self, request, object_id)

    def get_object_tools(self, request, obj):
        if obj.meeting_id is None:
            return []
        return [
            {
                "url": reverse("admin:proposals_decision_record", args=[obj.pk]),
                "label": "Record positions on one page",
            }
        ]


@admin.register(Position)
class PositionAdmin(ImportExportListMixin, RecordAdmin):
    resource_classes = [PositionResource]
    list_display = ["decision", "holder", "stance", "letter"]
    list_filter = ["stance", year_filter("decision__meeting__start_date", "meeting year")]
    list_select_related = ["decision", "participant", "observer", "letter"]
    search_fields = ["decision__title", "participant__name", "participant__code", "observer__name"]
    autocomplete_fields = ["decision", "participant", "observer", "letter", "sources"]

    @admin.display(description="held by")
    def holder(self, position: Position):
        return position.participant or position.observer


@admin.register(ReportedAccount)
class ReportedAccountAdmin(RecordAdmin):
    list_display = ["decision", "claim"]
    list_select_related = ["decision"]
    search_fields = ["claim", "decision__title"]
    autocomplete_fields = ["decision", "named_objectors", "sources"]
