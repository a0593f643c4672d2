from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kp_tracker.admin_filters import year_filter
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount
from sources.admin import SourcesLast


class QuoteInline(admin.StackedInline):
    model = Quote
    autocomplete_fields = ["speaker", "source"]
    extra = 0


@admin.register(Letter)
class LetterAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["subject", "dated", "publicity", "signatory", "slug"]
    list_filter = [year_filter("date"), "publicity"]
    list_select_related = ["signatory"]
    search_fields = ["slug", "subject", "summary", "signatory__name", "signatory_label"]
    autocomplete_fields = ["authors", "observer_authors", "signatory", "sources"]
    inlines = [QuoteInline]

    @admin.display(description="date", ordering="date")
    def dated(self, letter: Letter) -> str:
        return letter.date_display


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["text", "speaker_label", "letter", "source"]
    list_select_related = ["letter", "source"]
    search_fields = ["text", "speaker_label", "speaker__name"]
    autocomplete_fields = ["letter", "speaker", "source"]


@admin.register(Proposal)
class ProposalAdmin(SourcesLast, SimpleHistoryAdmin):
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


class PositionInline(SourcesLast, admin.TabularInline):
    model = Position
    autocomplete_fields = ["participant", "observer", "letter", "sources"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("participant", "observer", "letter")


class ReportedAccountInline(SourcesLast, admin.StackedInline):
    model = ReportedAccount
    autocomplete_fields = ["named_objectors", "sources"]
    extra = 0


@admin.register(Decision)
class DecisionAdmin(SimpleHistoryAdmin):
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

    def get_queryset(self, request):
        return super().get_queryset(request).with_effective_date()


@admin.register(Position)
class PositionAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["decision", "holder", "stance", "letter"]
    list_filter = ["stance", year_filter("decision__meeting__start_date", "meeting year")]
    list_select_related = ["decision", "participant", "observer", "letter"]
    search_fields = ["decision__title", "participant__name", "participant__code", "observer__name"]
    autocomplete_fields = ["decision", "participant", "observer", "letter", "sources"]

    @admin.display(description="held by")
    def holder(self, position: Position):
        return position.participant or position.observer


@admin.register(ReportedAccount)
class ReportedAccountAdmin(SourcesLast, SimpleHistoryAdmin):
    list_display = ["decision", "claim"]
    list_select_related = ["decision"]
    search_fields = ["claim", "decision__title"]
    autocomplete_fields = ["decision", "named_objectors", "sources"]
