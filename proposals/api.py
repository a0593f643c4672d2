"""The proposals API: letters, proposals, decisions with their positions and the engine's
explanation, counterfactual outcomes, the objections (veto) list, statistics and the Popolo
export.

Outcomes come from the engine (stored on each decision, or `engine.counterfactual` for another
rule); nothing here decides anything.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

import django_filters
from django.db.models import DateField, F, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from kp_tracker.api_common import (
    ApiFilterSet,
    CleanModelSerializer,
    KeysetPagination,
    PreparedQuery,
    QuerySerializer,
    StandardPagination,
    StrictBooleanFilter,
    StrictPrimaryKeyRelatedField,
    StrictSlugRelatedField,
    YearFilter,
    rule_parameters,
    source_keys_field,
    sources_prefetch,
    text_search,
)
from kp_tracker.api_views import ApiModelViewSet, ApiViewMixin, ReadOnlyApiViewSet
from meetings.api import DateRangeFilterSet, meeting_slug_field
from meetings.models import AgendaItem
from participants.api import (
    ParticipantCodeFilter,
    observer_code_field,
    participant_code_field,
    person_slug_field,
)
from participants.models import Participant
from proposals import popolo, search
from proposals.consensus import engine, rules, statistics
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount

# Undated rows sort before every dated one: keyset cursors need a key that is never NULL.
UNDATED = Value(datetime.date(1, 1, 1), output_field=DateField())

DATE_ORDERINGS = {
    "-date": ("-date_key", "-id"),
    "date": ("date_key", "id"),
    "-id": ("-id",),
    "id": ("id",),
}


def letter_slug_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Letter.objects.all())
    return StrictSlugRelatedField(slug_field="slug", **kwargs)


def decision_slug_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Decision.objects.all())
    return StrictSlugRelatedField(slug_field="slug", **kwargs)


# --- letters --------------------------------------------------------------------------------


class QuoteSerializer(serializers.ModelSerializer):
    speaker = person_slug_field(read_only=True, queryset=None, allow_null=True)
    source = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Quote
        fields = ["text", "speaker", "speaker_label", "source"]


class LetterSerializer(CleanModelSerializer):
    date_display = serializers.CharField(read_only=True)
    authors = participant_code_field(many=True, required=False)
    observer_authors = observer_code_field(many=True, required=False)
    signatory = person_slug_field(allow_null=True, required=False)
    quotes = QuoteSerializer(many=True, read_only=True)
    proposals = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text="Proposals the letter made."
    )
    sources = source_keys_field()

    class Meta:
        model = Letter
        fields = [
            "slug",
            "date",
            "date_precision",
            "date_display",
            "date_note",
            "authors",
            "observer_authors",
            "signatory",
            "signatory_label",
            "addressee",
            "subject",
            "summary",
            "publicity",
            "quotes",
            "proposals",
            "sources",
        ]


class LetterFilter(DateRangeFilterSet):
    author = ParticipantCodeFilter(field_name="authors__code", distinct=True)
    observer = django_filters.CharFilter(
        field_name="observer_authors__code", distinct=True, help_text="Observer code."
    )
    year = YearFilter(field_name="date", lookup_expr="year")
    publicity = django_filters.ChoiceFilter(choices=Letter.Publicity.choices)
    proposal = django_filters.CharFilter(
        field_name="proposals__slug", distinct=True, help_text="Proposal slug."
    )
    q = django_filters.CharFilter(
        method="search",
        help_text="Full-text search in subject and summary "
        "(PostgreSQL web-search syntax: quoted phrases, `or`, `-word`).",
    )

    class Meta:
        model = Letter
        fields = ["author", "observer", "year", "publicity", "proposal", "q"]

    def search(self, queryset, name, value):
        # The stored vector the letters archive searches (proposals/migrations/0013), indexed.
        return text_search(queryset, ["subject", "summary"], value, vector=search.stored_vector())


@extend_schema_view(
    list=extend_schema(summary="Letters", tags=["letters and proposals"]),
    retrieve=extend_schema(summary="A letter, by slug", tags=["letters and proposals"]),
    create=extend_schema(summary="Add a letter", tags=["letters and proposals"]),
    update=extend_schema(summary="Replace a letter", tags=["letters and proposals"]),
    partial_update=extend_schema(summary="Change a letter", tags=["letters and proposals"]),
    destroy=extend_schema(summary="Delete a letter", tags=["letters and proposals"]),
)
class LetterViewSet(ApiModelViewSet):
    # Queries: page, authors, observer authors, quotes, proposals, sources: 6 for any page.
    queryset = (
        Letter.objects.select_related("signatory")
        .annotate(date_key=Coalesce("date", UNDATED))
        .prefetch_related(
            Prefetch("authors", queryset=Participant.objects.only("id", "code").order_by("code")),
            "observer_authors",
            Prefetch(
                "quotes", queryset=Quote.objects.select_related("speaker", "source").order_by("id")
            ),
            Prefetch("proposals", queryset=Proposal.objects.only("id", "slug")),
            sources_prefetch(),
        )
    )
    serializer_class = LetterSerializer
    lookup_field = "slug"
    filterset_class = LetterFilter
    pagination_class = KeysetPagination
    keyset_orderings = DATE_ORDERINGS


# --- proposals ------------------------------------------------------------------------------


class ProposalSerializer(CleanModelSerializer):
    sponsors = participant_code_field(many=True, required=False)
    observer_sponsors = observer_code_field(many=True, required=False)
    letters = letter_slug_field(many=True, required=False)
    meeting = meeting_slug_field(allow_null=True, required=False)
    agenda_item = StrictPrimaryKeyRelatedField(
        queryset=AgendaItem.objects.all(), allow_null=True, required=False
    )
    decisions = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    sources = source_keys_field()

    class Meta:
        model = Proposal
        fields = [
            "slug",
            "title",
            "kind",
            "summary",
            "sponsors",
            "observer_sponsors",
            "sponsors_note",
            "letters",
            "meeting",
            "agenda_item",
            "status",
            "decisions",
            "sources",
        ]


class ProposalFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=Proposal.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Proposal.Status.choices)
    meeting = django_filters.CharFilter(field_name="meeting__slug", help_text="Meeting slug.")
    year = YearFilter(field_name="meeting__start_date", lookup_expr="year")
    sponsor = ParticipantCodeFilter(field_name="sponsors__code", distinct=True)

    class Meta:
        model = Proposal
        fields = ["kind", "status", "meeting", "year", "sponsor"]


@extend_schema_view(
    list=extend_schema(summary="Proposals", tags=["letters and proposals"]),
    retrieve=extend_schema(summary="A proposal, by slug", tags=["letters and proposals"]),
    create=extend_schema(summary="Add a proposal", tags=["letters and proposals"]),
    update=extend_schema(summary="Replace a proposal", tags=["letters and proposals"]),
    partial_update=extend_schema(summary="Change a proposal", tags=["letters and proposals"]),
    destroy=extend_schema(
        summary="Delete a proposal",
        description="Refused with 409 while a decision is about it.",
        tags=["letters and proposals"],
    ),
)
class ProposalViewSet(ApiModelViewSet):
    # Queries: count, page, sponsors, observer sponsors, letters, decisions, sources: 7.
    queryset = Proposal.objects.select_related("meeting").prefetch_related(
        Prefetch("sponsors", queryset=Participant.objects.only("id", "code").order_by("code")),
        "observer_sponsors",
        Prefetch("letters", queryset=Letter.objects.only("id", "slug")),
        Prefetch("decisions", queryset=Decision.objects.only("id", "slug", "proposal_id")),
        sources_prefetch(),
    )
    serializer_class = ProposalSerializer
    lookup_field = "slug"
    filterset_class = ProposalFilter
    ordering_fields = ["slug", "title"]


# --- decisions and positions ----------------------------------------------------------------


class DecisionPositionSerializer(serializers.ModelSerializer):
    participant = participant_code_field(read_only=True, queryset=None, allow_null=True)
    observer = observer_code_field(read_only=True, queryset=None, allow_null=True)
    letter = letter_slug_field(read_only=True, queryset=None, allow_null=True)
    sources = serializers.SlugRelatedField(slug_field="key", many=True, read_only=True)

    class Meta:
        model = Position
        fields = ["id", "participant", "observer", "stance", "reason", "letter", "sources"]


class ReportedAccountSerializer(serializers.ModelSerializer):
    named_objectors = participant_code_field(many=True, read_only=True, queryset=None)
    sources = serializers.SlugRelatedField(slug_field="key", many=True, read_only=True)

    class Meta:
        model = ReportedAccount
        fields = ["claim", "named_objectors", "sources"]


class ExplanationSerializer(serializers.Serializer):
    """The engine's explanation of an outcome under one rule and counting."""

    rule = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
    blocked_by = serializers.ListField(child=serializers.CharField())
    participants_counted = serializers.IntegerField()
    objections = serializers.IntegerField()
    supports = serializers.IntegerField()
    abstentions = serializers.IntegerField()
    silent = serializers.IntegerField()
    counting = serializers.ChoiceField(choices=rules.COUNTINGS)
    electorate = serializers.CharField()
    record_complete = serializers.BooleanField()
    observer_objections = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField()


EXPLANATION_KEYS = list(ExplanationSerializer().fields)


def ordered_explanation(explanation: dict | None) -> dict | None:
    """The engine's explanation in its documented key order (PostgreSQL's jsonb keeps its own),
    so JSON reads the same everywhere and CSV columns come in a stable order."""
    if not explanation:
        return None
    return {key: explanation[key] for key in EXPLANATION_KEYS if key in explanation} | {
        key: value for key, value in explanation.items() if key not in EXPLANATION_KEYS
    }


class CounterfactualSerializer(serializers.Serializer):
    rule = serializers.CharField()
    title = serializers.CharField()
    counting = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
    blocked_by = serializers.ListField(child=serializers.CharField())
    differs = serializers.BooleanField(help_text="The outcome differs from the rule of record's.")
    explanation = ExplanationSerializer()


class DecisionSerializer(CleanModelSerializer):
    agenda_item = StrictPrimaryKeyRelatedField(
        queryset=AgendaItem.objects.all(), allow_null=True, required=False
    )
    proposal = StrictSlugRelatedField(
        slug_field="slug", queryset=Proposal.objects.all(), allow_null=True, required=False
    )
    meeting = meeting_slug_field(allow_null=True, required=False)
    subject = serializers.SerializerMethodField(help_text="The subject's title.")
    effective_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="Its own date, else its meeting's first day."
    )
    explanation = serializers.SerializerMethodField(
        help_text="The engine's explanation under the rule of record."
    )
    counterfactuals = serializers.DictField(
        child=serializers.ChoiceField(choices=Decision.Outcome.choices),
        read_only=True,
        help_text='The outcome under every rule and counting, keyed "rule:counting".',
    )
    counterfactual = serializers.SerializerMethodField(
        help_text="With ?rule= (and ?counting=) on a single decision: the outcome under that "
        "rule, with the engine's explanation; null otherwise."
    )
    parties_concerned = participant_code_field(many=True, required=False)
    positions = DecisionPositionSerializer(many=True, read_only=True)
    accounts = ReportedAccountSerializer(
        many=True, read_only=True, help_text="Sources' accounts that differ from the positions."
    )
    sources = source_keys_field()

    class Meta:
        model = Decision
        fields = [
            "id",
            "slug",
            "title",
            "subject_kind",
            "agenda_item",
            "proposal",
            "meeting",
            "subject",
            "method",
            "date",
            "date_precision",
            "effective_date",
            "summary",
            "positions_complete",
            "reported_outcome",
            "outcome",
            "explanation",
            "counterfactuals",
            "counterfactual",
            "parties_concerned",
            "positions",
            "accounts",
            "sources",
        ]
        read_only_fields = ["outcome"]

    def get_subject(self, decision: Decision) -> str:
        if decision.agenda_item_id:
            return decision.agenda_item.title
        if decision.proposal_id:
            return decision.proposal.title
        return decision.title

    @extend_schema_field(ExplanationSerializer(allow_null=True))
    def get_explanation(self, decision: Decision) -> dict | None:
        return ordered_explanation(decision.explanation)

    @extend_schema_field(CounterfactualSerializer(allow_null=True))
    def get_counterfactual(self, decision: Decision) -> dict | None:
        return self.context.get("counterfactual")


class CounterfactualQuerySerializer(QuerySerializer):
    rule = serializers.ChoiceField(choices=list(rules.RULES), required=False)
    counting = serializers.ChoiceField(
        choices=list(rules.COUNTINGS), default=rules.SILENCE_AS_CONSENT
    )


class DecisionFilter(DateRangeFilterSet):
    date_field = "effective_date"
    meeting = django_filters.CharFilter(field_name="meeting__slug", help_text="Meeting slug.")
    year = YearFilter(field_name="effective_date", lookup_expr="year")
    outcome = django_filters.ChoiceFilter(choices=Decision.Outcome.choices)
    reported_outcome = django_filters.ChoiceFilter(choices=Decision.Outcome.choices)
    subject_kind = django_filters.ChoiceFilter(choices=Decision.SubjectKind.choices)
    method = django_filters.ChoiceFilter(choices=Decision.Method.choices)
    objector = ParticipantCodeFilter(
        method="filter_objector",
        help_text="Decisions the participant(s) objected to (ISO codes, comma-separated).",
    )
    differs_under = django_filters.ChoiceFilter(
        choices=[(name, rule.title) for name, rule in rules.RULES.items()],
        method="filter_differs",
        help_text="Decisions whose outcome under this rule (silence counted as consent) differs "
        "from the rule of record's.",
    )

    class Meta:
        model = Decision
        fields = ["meeting", "year", "outcome", "reported_outcome", "subject_kind", "method"]

    def filter_objector(self, queryset, name, value):
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        return queryset.filter(
            pk__in=Position.objects.objections()
            .filter(participant__code__in=codes)
            .values("decision_id")
        )

    def filter_differs(self, queryset, name, value):
        differing = statistics.differing_decisions(value).values("pk")
        return queryset.filter(pk__in=differing)


DECISION_ID = OpenApiParameter(
    "id",
    str,
    OpenApiParameter.PATH,
    description="The decision's slug (e.g. 2022-kasane-ukraine-item) or its numeric id.",
)


@extend_schema_view(
    list=extend_schema(
        summary="Decisions, with every position, the outcome and the engine's explanation",
        tags=["decisions"],
    ),
    retrieve=extend_schema(
        summary="A decision; with ?rule= its counterfactual outcome under that rule",
        description="`?rule=two_thirds&counting=recorded` adds `counterfactual`: the outcome "
        "the engine finds under that rule and counting, with its explanation.",
        parameters=[DECISION_ID, *rule_parameters()],
        tags=["decisions"],
    ),
    create=extend_schema(
        summary="Add a decision",
        description="The outcome is the engine's, computed on save; it cannot be written.",
        tags=["decisions"],
    ),
    update=extend_schema(
        summary="Replace a decision", parameters=[DECISION_ID], tags=["decisions"]
    ),
    partial_update=extend_schema(
        summary="Change a decision", parameters=[DECISION_ID], tags=["decisions"]
    ),
    destroy=extend_schema(
        summary="Delete a decision, with its positions",
        description="Refused with 409 while an agenda entry names it as the removal decision.",
        parameters=[DECISION_ID],
        tags=["decisions"],
    ),
)
class DecisionViewSet(ApiModelViewSet):
    # Queries: page, parties concerned, positions (with holder and letter), their sources,
    # accounts, their named objectors, their sources, sources: 8 for any page size.
    queryset = (
        Decision.objects.annotate(date_key=Coalesce("effective_date", UNDATED))
        .select_related("agenda_item", "proposal", "meeting")
        .prefetch_related(
            Prefetch(
                "parties_concerned",
                queryset=Participant.objects.only("id", "code").order_by("code"),
            ),
            Prefetch(
                "positions",
                queryset=Position.objects.select_related("participant", "observer", "letter")
                .prefetch_related(sources_prefetch())
                .order_by("participant__code", "observer__code", "id"),
            ),
            Prefetch(
                "accounts",
                queryset=ReportedAccount.objects.prefetch_related(
                    Prefetch("named_objectors", queryset=Participant.objects.only("id", "code")),
                    sources_prefetch(),
                ),
            ),
            sources_prefetch(),
        )
    )
    serializer_class = DecisionSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "id"
    filterset_class = DecisionFilter
    pagination_class = KeysetPagination
    keyset_orderings = DATE_ORDERINGS

    def get_object(self):
        value = self.kwargs["id"]
        field = "pk" if value.isdigit() else "slug"
        decision = get_object_or_404(self.get_queryset(), **{field: value})
        self.check_object_permissions(self.request, decision)
        return decision

    def retrieve(self, request, *args, **kwargs):
        query = CounterfactualQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        decision = self.get_object()
        context = self.get_serializer_context()
        if "rule" in query.validated_data:
            rule_name = query.validated_data["rule"]
            result = engine.counterfactual(decision, rule_name, query.validated_data["counting"])
            context["counterfactual"] = {
                "rule": rule_name,
                "title": rules.RULES[rule_name].title,
                "counting": query.validated_data["counting"],
                "outcome": result.outcome,
                "blocked_by": list(result.blocked_by),
                "differs": result.outcome != decision.outcome,
                "explanation": result.explanation,
            }
        return Response(self.get_serializer_class()(decision, context=context).data)


class PositionSerializer(CleanModelSerializer):
    decision = decision_slug_field()
    participant = participant_code_field(
        allow_null=True, required=False, help_text="ISO code; give a participant or an observer."
    )
    observer = observer_code_field(allow_null=True, required=False)
    letter = letter_slug_field(allow_null=True, required=False)
    sources = source_keys_field()

    class Meta:
        model = Position
        fields = [
            "id",
            "decision",
            "participant",
            "observer",
            "stance",
            "reason",
            "letter",
            "sources",
        ]


class PositionFilter(DateRangeFilterSet):
    date_field = "effective_date"
    decision = django_filters.CharFilter(field_name="decision__slug", help_text="Decision slug.")
    participant = ParticipantCodeFilter(field_name="participant__code")
    observer = django_filters.CharFilter(field_name="observer__code", help_text="Observer code.")
    stance = django_filters.ChoiceFilter(choices=Position.Stance.choices)
    meeting = django_filters.CharFilter(
        field_name="decision__meeting__slug", help_text="Meeting slug."
    )
    year = YearFilter(field_name="effective_date", lookup_expr="year")

    class Meta:
        model = Position
        fields = ["decision", "participant", "observer", "stance", "meeting", "year"]


@extend_schema_view(
    list=extend_schema(summary="Positions on decisions", tags=["decisions"]),
    retrieve=extend_schema(summary="A position, by id", tags=["decisions"]),
    create=extend_schema(
        summary="Record a position",
        description="The decision's outcome is recomputed by the engine in the same transaction.",
        tags=["decisions"],
    ),
    update=extend_schema(summary="Replace a position", tags=["decisions"]),
    partial_update=extend_schema(summary="Change a position", tags=["decisions"]),
    destroy=extend_schema(summary="Delete a position", tags=["decisions"]),
)
class PositionViewSet(ApiModelViewSet):
    # Queries: page (decision, holder and letter joined), sources: 2 for any page size.
    queryset = (
        Position.objects.select_related("decision", "participant", "observer", "letter")
        .annotate(effective_date=F("decision__effective_date"))
        .prefetch_related(sources_prefetch())
    )
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    pagination_class = KeysetPagination
    keyset_orderings = {"-id": ("-id",), "id": ("id",)}


# --- objections: the veto data --------------------------------------------------------------


class ObjectionSerializer(serializers.Serializer):
    """One participant's objection to one decision (documentation of the rows)."""

    id = serializers.IntegerField(help_text="The position's id.")
    participant = serializers.CharField(help_text="ISO code of the objecting participant.")
    participant_name = serializers.CharField()
    decision = serializers.CharField(help_text="The decision's slug.")
    decision_id = serializers.IntegerField()
    decision_title = serializers.CharField()
    subject_kind = serializers.ChoiceField(choices=Decision.SubjectKind.choices)
    subject = serializers.CharField(help_text="Title of the agenda item, proposal or decision.")
    meeting = serializers.CharField(allow_null=True, help_text="The meeting's slug.")
    date = serializers.DateField(
        allow_null=True, help_text="The decision's date, else its meeting's first day."
    )
    year = serializers.IntegerField(allow_null=True)
    blocked = serializers.BooleanField(
        help_text="The decision was blocked under the rule of record."
    )
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
    reason = serializers.CharField(help_text="The reason the objector gave, where on record.")
    letter = serializers.CharField(allow_null=True, help_text="Slug of the letter stating it.")


EFFECTIVE_DATE = F("decision__effective_date")
SUBJECT = Coalesce("agenda_item__title", "proposal__title", "title")

# Columns of a page of objections; the decisions they are about come in a second query.
PAGE_COLUMNS = (
    "id",
    "participant__code",
    "participant__name",
    "decision_id",
    "reason",
    "letter__slug",
)


def objections_queryset():
    """Participants' objections, to filter and page; no join is made until a filter, an
    ordering or `objection_rows` needs one.

    Why not one query joining the seven tables a row draws on (the `statistics.objections()`
    selector): PostgreSQL spends 7.5 to 11.6 ms *planning* that join on the synthetic record
    (executing it takes 2 ms), while the page on its own and the decisions of the page plan in
    under 0.4 ms each (docs/benchmarks.md, API).
    """
    return Position.objects.objections().filter(participant__isnull=False)


def with_effective_date(queryset):
    if "effective_date" in queryset.query.annotations:
        return queryset
    return queryset.annotate(effective_date=EFFECTIVE_DATE)


def with_date_key(queryset):
    if "date_key" in queryset.query.annotations:
        return queryset
    return queryset.annotate(date_key=Coalesce(EFFECTIVE_DATE, UNDATED))


PAGE_DECISIONS = PreparedQuery(
    lambda ids: (
        Decision.objects.filter(pk__in=ids)
        .annotate(subject=SUBJECT)
        .order_by()
        .values_list(
            "id",
            "slug",
            "title",
            "subject_kind",
            "subject",
            "meeting__slug",
            "effective_date",
            "outcome",
        )
    )
)


def _objection_page(_descending: bool, _limit: int, after: int | None = None):
    queryset = objections_queryset()
    if after is not None:
        queryset = queryset.filter(id__lt=after) if _descending else queryset.filter(id__gt=after)
    return queryset.order_by("-id" if _descending else "id").values_list(*PAGE_COLUMNS)[:_limit]


# The newest-first pages with no filter, the commonest request: compiling the page query cost
# 1.7 of its 2.9 ms on the synthetic record (docs/benchmarks.md, API).
OBJECTION_PAGE = PreparedQuery(_objection_page)


def objection_rows(page) -> list[dict]:
    """A page of objections as plain dicts: `page` is a queryset of positions (sliced or not)
    or rows already fetched with PAGE_COLUMNS.

    Two queries: the positions with their participant and letter, then the decisions they are
    about (with meeting, subject and effective date). Plain dicts rather than a nested
    ModelSerializer: the list serves 5.3x the requests/s of a nested ModelSerializer version
    over select_related, and 0.7x those of a bare Django view (docs/benchmarks.md, API).
    """
    rows = page if isinstance(page, list) else list(page.values(*PAGE_COLUMNS))
    if not rows:
        return []
    decisions = {
        row[0]: row for row in PAGE_DECISIONS.rows(ids={row["decision_id"] for row in rows})
    }
    blocked = Decision.Outcome.BLOCKED
    result = []
    for row in rows:
        _, slug, title, subject_kind, subject, meeting, day, outcome = decisions[row["decision_id"]]
        result.append(
            {
                "id": row["id"],
                "participant": row["participant__code"],
                "participant_name": row["participant__name"],
                "decision": slug,
                "decision_id": row["decision_id"],
                "decision_title": title,
                "subject_kind": subject_kind,
                "subject": subject,
                "meeting": meeting,
                "date": day,
                "year": day.year if day else None,
                "blocked": outcome == blocked,
                "outcome": outcome,
                "reason": row["reason"],
                "letter": row["letter__slug"],
            }
        )
    return result


class ObjectionFilter(ApiFilterSet):
    participant = ParticipantCodeFilter(field_name="participant__code")
    meeting = django_filters.CharFilter(
        field_name="decision__meeting__slug", help_text="Meeting slug."
    )
    year = YearFilter(method="filter_year", help_text="The decision's year, e.g. 2022.")
    date_from = django_filters.DateFilter(method="filter_date_from", help_text="On or after.")
    date_to = django_filters.DateFilter(method="filter_date_to", help_text="On or before.")
    subject_kind = django_filters.ChoiceFilter(
        field_name="decision__subject_kind", choices=Decision.SubjectKind.choices
    )
    decision = django_filters.CharFilter(field_name="decision__slug", help_text="Decision slug.")
    blocked = StrictBooleanFilter(
        method="filter_blocked", help_text="Only objections to decisions blocked (or not)."
    )

    class Meta:
        model = Position
        fields = ["participant", "meeting", "year", "subject_kind", "decision", "blocked"]

    def filter_year(self, queryset, name, value):
        return with_effective_date(queryset).filter(effective_date__year=value)

    def filter_date_from(self, queryset, name, value):
        return with_effective_date(queryset).filter(effective_date__gte=value)

    def filter_date_to(self, queryset, name, value):
        return with_effective_date(queryset).filter(effective_date__lte=value)

    def filter_blocked(self, queryset, name, value):
        blocked = Q(decision__outcome=Decision.Outcome.BLOCKED)
        return queryset.filter(blocked if value else ~blocked)


@extend_schema_view(
    list=extend_schema(
        summary="Objections: one row per participant's objection to a decision",
        description="The veto data. `?participant=RU` for every objection by Russia. The "
        "default order, newest recorded first (`-id`), is served by an index; `-date` and "
        "`date` sort the whole filtered set by the decision's date.",
        tags=["objections and statistics"],
    ),
    retrieve=extend_schema(
        summary="An objection, by position id", tags=["objections and statistics"]
    ),
)
class ObjectionViewSet(ReadOnlyApiViewSet):
    """Read-only; objections are written as positions.

    Queries: the page, the decisions of the page: 2 whatever the page size (see
    `objection_rows`).
    """

    serializer_class = ObjectionSerializer
    filterset_class = ObjectionFilter
    pagination_class = KeysetPagination
    keyset_orderings = {
        "-id": ("-id",),
        "id": ("id",),
        "-date": ("-date_key", "-id"),
        "date": ("date_key", "id"),
        "participant": ("participant__code", "-date_key", "-id"),
    }

    # Built once and cloned per request (as DRF does with `queryset`): building it costs
    # ~0.5 ms, and the newest-first pages do not even use it (keyset_fetch).
    queryset = objections_queryset()

    def keyset_fetch(self, ordering, after, reverse, limit) -> list[dict] | None:
        """The page by a prepared query when it is ordered by id and nothing filters it."""
        if ordering not in (("-id",), ("id",)) or any(
            name in self.request.query_params for name in ObjectionFilter.base_filters
        ):
            return None
        if after and (isinstance(after[0], bool) or not isinstance(after[0], int)):
            return None  # a doctored cursor: the usual path answers it with a 400
        descending = (ordering == ("-id",)) != reverse
        params = {"after": after[0]} if after else {}
        rows = OBJECTION_PAGE.rows(_descending=descending, _limit=limit, **params)
        return [dict(zip(PAGE_COLUMNS, row, strict=True)) for row in rows]

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        columns = PAGE_COLUMNS
        ordering = request.query_params.get("ordering")
        if any("date_key" in key for key in self.keyset_orderings.get(ordering, ())):
            # Only the date orderings join the decision and its meeting for the page.
            queryset, columns = with_date_key(queryset), (*PAGE_COLUMNS, "date_key")
        page = self.paginate_queryset(queryset.values(*columns))
        return self.get_paginated_response(objection_rows(page))

    def retrieve(self, request, *args, **kwargs):
        pk = kwargs["pk"]
        rows = objection_rows(objections_queryset().filter(pk=pk)) if pk.isdigit() else []
        if not rows:
            raise exceptions.NotFound("No objection with this id.")
        return Response(rows[0])


# --- statistics -----------------------------------------------------------------------------


class StatisticsView(ApiViewMixin, GenericAPIView):
    """A read-only statistics endpoint: validated query parameters in, rows out."""

    query_serializer_class: type[serializers.Serializer] | None = None
    pagination_class = None
    filter_backends: list = []

    def query(self) -> dict:
        if self.query_serializer_class is None:
            return {}
        query = self.query_serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def get(self, request, *args, **kwargs):
        return Response(self.rows(**self.query(), **kwargs))

    def rows(self, **params):
        raise NotImplementedError


class YearMeetingQuery(QuerySerializer):
    year = serializers.IntegerField(required=False, min_value=1900, max_value=2100)
    meeting = serializers.CharField(required=False, allow_blank=True, help_text="Meeting slug.")


class VetoRecordRowSerializer(serializers.Serializer):
    participant = serializers.CharField(help_text="ISO code.")
    name = serializers.CharField()
    objections = serializers.IntegerField(help_text="Objections on record.")
    vetoes = serializers.IntegerField(help_text="Decisions it blocked or joined in blocking.")
    meetings_with_vetoes = serializers.IntegerField()


def veto_row(participant) -> dict:
    return {
        "participant": participant.code,
        "name": participant.name,
        "objections": participant.objections,
        "vetoes": participant.vetoes,
        "meetings_with_vetoes": participant.meetings_with_vetoes,
    }


STATS = ["objections and statistics"]


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_veto_records",
        summary="Veto record of every participant that ever objected",
        tags=STATS,
        responses=VetoRecordRowSerializer(many=True),
    )
)
class VetoRecordsView(StatisticsView):
    serializer_class = VetoRecordRowSerializer

    # Queries: 2 (the counts, the participants).
    def rows(self):
        return [veto_row(p) for p in statistics.veto_records()]


class CoObjectorSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    together = serializers.IntegerField(help_text="Decisions both objected to.")


class VetoRecordSerializer(VetoRecordRowSerializer):
    blocked = ObjectionSerializer(
        many=True, help_text="Its objections to decisions that were blocked, newest first."
    )
    co_objectors = CoObjectorSerializer(many=True)


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_veto_record",
        summary="One participant's veto record: counts, the decisions it blocked, co-objectors",
        tags=STATS,
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH, description="ISO code, e.g. RU.")
        ],
        responses={
            200: VetoRecordSerializer,
            404: OpenApiResponse(description="No such participant."),
        },
    )
)
class VetoRecordView(StatisticsView):
    serializer_class = VetoRecordSerializer

    # Queries: participant, counts, blocked objections and their decisions, co-objectors: 5.
    def rows(self, code):
        participant = get_object_or_404(
            Participant.objects.only("id", "code", "name"), code=code.upper()
        )
        counts = next(iter(statistics.veto_records(participant)), None)
        row = (
            veto_row(counts)
            if counts
            else {
                "participant": participant.code,
                "name": participant.name,
                "objections": 0,
                "vetoes": 0,
                "meetings_with_vetoes": 0,
            }
        )
        blocked = (
            with_date_key(objections_queryset())
            .filter(participant=participant, decision__outcome=Decision.Outcome.BLOCKED)
            .order_by("-date_key", "-id")
        )
        row["blocked"] = objection_rows(blocked)
        row["co_objectors"] = list(statistics.co_objectors(participant))
        return row


class PairSerializer(serializers.Serializer):
    a = serializers.CharField(help_text="ISO code; a < b.")
    b = serializers.CharField(help_text="ISO code.")
    together = serializers.IntegerField(help_text="Decisions both objected to.")


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_co_objections",
        summary="Co-objections: for every pair of participants, decisions both objected to",
        tags=STATS,
        parameters=[YearMeetingQuery],
        responses=PairSerializer(many=True),
    )
)
class CoObjectionsView(StatisticsView):
    serializer_class = PairSerializer
    # Queries: 2 (the pairs, their participants' codes).
    query_serializer_class = YearMeetingQuery

    def rows(self, year=None, meeting=None):
        return list(statistics.co_objection_pairs(year=year, meeting=meeting))


class MatrixRowSerializer(serializers.Serializer):
    participant = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Co-objector's code → decisions both objected to (pairs with none left out).",
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_co_objection_matrix",
        summary="The co-objection matrix: one row per participant that objected with another",
        description="In CSV, one column per co-objector (`counts.XX`).",
        tags=STATS,
        parameters=[YearMeetingQuery],
        responses=MatrixRowSerializer(many=True),
    )
)
class CoObjectionMatrixView(StatisticsView):
    serializer_class = MatrixRowSerializer
    # Queries: 2 (the pairs and their codes; the matrix is arranged from them).
    query_serializer_class = YearMeetingQuery

    def rows(self, year=None, meeting=None):
        matrix: dict[str, dict[str, int]] = defaultdict(dict)
        for pair in statistics.co_objection_pairs(year=year, meeting=meeting):
            matrix[pair["a"]][pair["b"]] = pair["together"]
            matrix[pair["b"]][pair["a"]] = pair["together"]
        return [
            {"participant": code, "counts": dict(sorted(matrix[code].items()))}
            for code in sorted(matrix)
        ]


class BlocsQuery(QuerySerializer):
    min_together = serializers.IntegerField(
        required=False,
        default=2,
        min_value=1,
        max_value=100000,
        help_text="Link two participants that objected together at least this often.",
    )
    year = serializers.IntegerField(required=False, min_value=1900, max_value=2100)


class BlocSerializer(serializers.Serializer):
    members = serializers.ListField(child=serializers.CharField())
    pairs = serializers.IntegerField()
    strongest_link = serializers.IntegerField()


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_blocs",
        summary="Blocs: groups of participants linked by objecting together",
        tags=STATS,
        parameters=[BlocsQuery],
        responses=BlocSerializer(many=True),
    )
)
class BlocsView(StatisticsView):
    serializer_class = BlocSerializer
    # Queries: 2 (the pairs, their participants' codes).
    query_serializer_class = BlocsQuery

    def rows(self, min_together=2, year=None):
        return statistics.blocs(min_together=min_together, year=year)


class MeetingStatisticsSerializer(serializers.Serializer):
    meeting = serializers.CharField(help_text="Slug.")
    name = serializers.CharField()
    kind = serializers.CharField()
    start_date = serializers.DateField()
    items_removed = serializers.IntegerField()
    decisions = serializers.IntegerField()
    decisions_blocked = serializers.IntegerField()
    communique_adopted = serializers.BooleanField(allow_null=True)


class YearQuery(QuerySerializer):
    year = serializers.IntegerField(required=False, min_value=1900, max_value=2100)


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_meetings",
        summary="Per meeting: agenda items removed, decisions blocked, communique or not",
        tags=STATS,
        parameters=[YearQuery],
        responses=MeetingStatisticsSerializer(many=True),
    )
)
class MeetingStatisticsView(StatisticsView):
    serializer_class = MeetingStatisticsSerializer
    # Queries: 1.
    query_serializer_class = YearQuery

    def rows(self, year=None):
        meetings = statistics.meeting_statistics()
        if year:
            meetings = meetings.filter(start_date__year=year)
        return [
            {
                "meeting": m.slug,
                "name": str(m),
                "kind": m.kind,
                "start_date": m.start_date,
                "items_removed": m.items_removed,
                "decisions": m.decisions_total,
                "decisions_blocked": m.decisions_blocked,
                "communique_adopted": m.communique_adopted,
            }
            for m in meetings
        ]


class YearStatisticsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    meetings = serializers.IntegerField()
    items_removed = serializers.IntegerField()
    decisions = serializers.IntegerField()
    decisions_blocked = serializers.IntegerField()
    communiques_not_adopted = serializers.IntegerField()


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_years",
        summary="Per year: meetings, agenda items removed, decisions blocked, communiques lost",
        tags=STATS,
        responses=YearStatisticsSerializer(many=True),
    )
)
class YearStatisticsView(StatisticsView):
    serializer_class = YearStatisticsSerializer

    # Queries: 3.
    def rows(self):
        return statistics.year_statistics()


class CountingQuery(QuerySerializer):
    counting = serializers.ChoiceField(
        choices=list(rules.COUNTINGS), default=rules.SILENCE_AS_CONSENT
    )


class CounterfactualSummarySerializer(serializers.Serializer):
    rule = serializers.CharField()
    title = serializers.CharField()
    counting = serializers.CharField()
    decisions = serializers.IntegerField()
    differ = serializers.IntegerField(help_text="Decisions this rule would decide differently.")
    blocked_would_pass = serializers.IntegerField()
    adopted_would_fail = serializers.IntegerField()


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_counterfactual_summary",
        summary="Counterfactual summary: for every rule, how many decisions would go otherwise",
        tags=STATS,
        parameters=[CountingQuery],
        responses=CounterfactualSummarySerializer(many=True),
    )
)
class CounterfactualSummaryView(StatisticsView):
    serializer_class = CounterfactualSummarySerializer
    # Queries: 1 (every rule's outcome grouped at once).
    query_serializer_class = CountingQuery

    def rows(self, counting=rules.SILENCE_AS_CONSENT):
        return statistics.counterfactual_summary(counting)


class DifferingQuery(CountingQuery):
    outcome = serializers.ChoiceField(
        choices=Decision.Outcome.choices,
        required=False,
        help_text="The outcome of record, e.g. blocked.",
    )
    would_be = serializers.ChoiceField(
        choices=Decision.Outcome.choices,
        required=False,
        help_text="The outcome under the rule, e.g. adopted.",
    )
    year_from = serializers.IntegerField(required=False, min_value=1900, max_value=2100)
    year_to = serializers.IntegerField(required=False, min_value=1900, max_value=2100)


class DifferingDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.CharField(help_text="Slug.")
    title = serializers.CharField()
    subject_kind = serializers.CharField()
    meeting = serializers.CharField(allow_null=True)
    date = serializers.DateField(allow_null=True)
    outcome = serializers.ChoiceField(
        choices=Decision.Outcome.choices, help_text="Under the rule of record."
    )
    would_be = serializers.ChoiceField(
        choices=Decision.Outcome.choices, help_text="Under the rule asked about."
    )
    explanation = ExplanationSerializer(
        allow_null=True, help_text="The engine's explanation of record."
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="statistics_counterfactual_decisions",
        summary="Decisions a rule would decide otherwise, e.g. blocked ones that would pass",
        description="`/statistics/counterfactuals/two_thirds/?outcome=blocked&would_be=adopted`: "
        "the blocked decisions that would have passed under a two-thirds majority. "
        "`/decisions/{id}/?rule=two_thirds` explains one in full.",
        tags=STATS,
        parameters=[
            OpenApiParameter(
                "rule", str, OpenApiParameter.PATH, enum=list(rules.RULES), description="A rule."
            ),
            DifferingQuery,
        ],
        responses=DifferingDecisionSerializer(many=True),
    )
)
class DifferingDecisionsView(StatisticsView):
    serializer_class = DifferingDecisionSerializer
    # Queries: count, page: 2.
    query_serializer_class = DifferingQuery
    pagination_class = StandardPagination

    def get(self, request, rule):
        if rule not in rules.RULES:
            raise exceptions.NotFound(f"No rule named {rule!r}; see /api/v1/rules/.")
        params = self.query()
        would_be = params.pop("would_be", None)
        counting = params.pop("counting", rules.SILENCE_AS_CONSENT)
        decisions = statistics.differing_decisions(rule, counting, **params)
        if would_be:
            # On the JSON key itself: comparing the KT annotation breaks on SQLite.
            key = statistics.counterfactual_key(rule, counting)
            decisions = decisions.filter(**{f"counterfactuals__{key}": would_be})
        rows = decisions.values(
            "id",
            "slug",
            "title",
            "subject_kind",
            "meeting__slug",
            "effective_date",
            "outcome",
            "counterfactual",
            "explanation",
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            [
                {
                    "id": row["id"],
                    "decision": row["slug"],
                    "title": row["title"],
                    "subject_kind": row["subject_kind"],
                    "meeting": row["meeting__slug"],
                    "date": row["effective_date"],
                    "outcome": row["outcome"],
                    "would_be": row["counterfactual"],
                    "explanation": ordered_explanation(row["explanation"]),
                }
                for row in page
            ]
        )


class RuleSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    rule_of_record = serializers.BooleanField()


@extend_schema_view(
    get=extend_schema(
        operation_id="rules_list",
        summary="The decision rules the engine knows (for ?rule=)",
        tags=["decisions"],
        responses=RuleSerializer(many=True),
    )
)
class RulesView(StatisticsView):
    serializer_class = RuleSerializer

    # Queries: none.
    def rows(self):
        return [
            {
                "name": rule.name,
                "title": rule.title,
                "description": rule.description,
                "rule_of_record": rule.name == rules.RULE_OF_RECORD,
            }
            for rule in rules.RULES.values()
        ]


# --- Popolo ---------------------------------------------------------------------------------


class PopoloQuery(QuerySerializer):
    year = serializers.IntegerField(
        required=False,
        min_value=1900,
        max_value=2100,
        help_text="Only the meetings, motions and vote events of this year.",
    )
    meeting = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only this meeting (slug) and its motions and vote events.",
    )


def _popolo_list(name: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.DictField(),
        help_text=f"Popolo {name} objects (http://www.popoloproject.com/schemas/{name}.json).",
    )


class PopoloSerializer(serializers.Serializer):
    organizations = _popolo_list("organization")
    persons = _popolo_list("person")
    memberships = _popolo_list("membership")
    events = _popolo_list("event")
    motions = _popolo_list("motion")
    vote_events = _popolo_list("vote_event")


@extend_schema_view(
    get=extend_schema(
        operation_id="popolo_export",
        summary="The record as Popolo: organizations, persons, memberships, events, motions, votes",
        description="Participants, observers and working bodies are organizations; people are "
        "persons; roles and chairmanships are memberships; meetings are events; proposals (and "
        "decisions on agenda items or communiques) are motions; every decision is a vote event, "
        "with each position as a vote and the counts. Valid against the Popolo JSON Schemas.",
        tags=["popolo"],
        parameters=[PopoloQuery],
        responses=PopoloSerializer,
    )
)
class PopoloView(StatisticsView):
    serializer_class = PopoloSerializer
    # Queries: a fixed 16 or so, one per kind of row and link (see proposals/popolo.py).
    query_serializer_class = PopoloQuery
    renderer_classes = StatisticsView.renderer_classes[:1]  # a document, not a list: JSON only
    csv_filename = "popolo"

    def rows(self, year=None, meeting=None):
        return popolo.export(year=year, meeting=meeting)


routes = [
    ("letters", LetterViewSet, "letter"),
    ("proposals", ProposalViewSet, "proposal"),
    ("decisions", DecisionViewSet, "decision"),
    ("positions", PositionViewSet, "position"),
    ("objections", ObjectionViewSet, "objection"),
]

paths = [
    ("rules/", RulesView, "rules"),
    ("statistics/veto-records/", VetoRecordsView, "statistics-veto-records"),
    ("statistics/veto-records/<str:code>/", VetoRecordView, "statistics-veto-record"),
    ("statistics/co-objections/", CoObjectionsView, "statistics-co-objections"),
    ("statistics/co-objection-matrix/", CoObjectionMatrixView, "statistics-co-objection-matrix"),
    ("statistics/blocs/", BlocsView, "statistics-blocs"),
    ("statistics/meetings/", MeetingStatisticsView, "statistics-meetings"),
    ("statistics/years/", YearStatisticsView, "statistics-years"),
    ("statistics/counterfactuals/", CounterfactualSummaryView, "statistics-counterfactuals"),
    (
        "statistics/counterfactuals/<str:rule>/",
        DifferingDecisionsView,
        "statistics-counterfactual-decisions",
    ),
    ("popolo/", PopoloView, "popolo"),
]
