"""The meetings API: meetings (by slug), each meeting's agenda in every version, agenda items."""

from collections import defaultdict

import django_filters
from django.db.models import F, Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from kp_tracker.api_common import (
    ApiFilterSet,
    CleanModelSerializer,
    CSVRenderer,
    KeysetPagination,
    PreparedQuery,
    StrictBooleanFilter,
    StrictSlugRelatedField,
    YearFilter,
    source_keys_field,
    sources_prefetch,
    text_search,
)
from kp_tracker.api_views import ApiModelViewSet
from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Meeting, Session
from participants.api import (
    ParticipantCodeFilter,
    observer_code_field,
    participant_code_field,
    person_slug_field,
)
from participants.models import Participant


def meeting_slug_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Meeting.objects.all())
    return StrictSlugRelatedField(slug_field="slug", **kwargs)


class DateRangeFilterSet(ApiFilterSet):
    """`date_from` / `date_to` (inclusive) on the field named by `date_field`."""

    date_field = "date"
    date_from = django_filters.DateFilter(method="filter_date_from", help_text="On or after.")
    date_to = django_filters.DateFilter(method="filter_date_to", help_text="On or before.")

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__gte": value})

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__lte": value})


# --- meetings -------------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer):
    chaired_by = participant_code_field(read_only=True, queryset=None, allow_null=True)
    boycotted_by = participant_code_field(many=True, read_only=True, queryset=None)

    class Meta:
        model = Session
        fields = ["title", "date", "chaired_by", "boycotted_by", "press_excluded", "note"]


class MeetingSerializer(CleanModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True, help_text="e.g. 2022 …")
    year = serializers.IntegerField(read_only=True)
    host = participant_code_field(allow_null=True, required=False)
    chair = participant_code_field(allow_null=True, required=False)
    chair_person = person_slug_field(allow_null=True, required=False)
    attendees = participant_code_field(
        many=True,
        read_only=True,
        queryset=None,
        help_text="Participants recorded as attending; empty where attendance is not recorded.",
    )
    sessions = SessionSerializer(many=True, read_only=True)
    sources = source_keys_field()

    class Meta:
        model = Meeting
        fields = [
            "slug",
            "name",
            "kind",
            "title",
            "year",
            "start_date",
            "end_date",
            "city",
            "country",
            "host",
            "chair",
            "chair_person",
            "communique_adopted",
            "summary",
            "attendees",
            "sessions",
            "sources",
        ]


class MeetingFilter(DateRangeFilterSet):
    date_field = "start_date"
    year = YearFilter(field_name="start_date", lookup_expr="year")
    kind = django_filters.ChoiceFilter(choices=Meeting.Kind.choices)
    host = ParticipantCodeFilter(field_name="host__code")
    chair = ParticipantCodeFilter(field_name="chair__code")
    communique_adopted = StrictBooleanFilter()

    class Meta:
        model = Meeting
        fields = ["year", "kind", "host", "chair", "communique_adopted"]


class AgendaEntryRowSerializer(serializers.Serializer):
    """One item as it stood in one agenda version."""

    id = serializers.IntegerField(help_text="The agenda item's id (see /agenda-items/{id}/).")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=AgendaEntry.Status.choices)
    order = serializers.IntegerField()
    time_slot_minutes = serializers.IntegerField(
        allow_null=True, help_text="This version's slot, else the item's."
    )
    removal_decision = serializers.CharField(
        allow_null=True, help_text="Slug of the decision that removed the item, when removed."
    )
    proposers = serializers.ListField(child=serializers.CharField())
    observer_proposers = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()


class AgendaVersionRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    dated = serializers.DateField(allow_null=True)
    note = serializers.CharField()
    items = AgendaEntryRowSerializer(many=True)


class AgendaSerializer(serializers.Serializer):
    meeting = serializers.CharField(help_text="The meeting's slug.")
    versions = AgendaVersionRowSerializer(many=True)


AGENDA_VERSIONS = PreparedQuery(
    lambda slug: (
        AgendaVersion.objects.filter(meeting__slug=slug)
        .order_by("number")
        .values_list("id", "number", "label", "dated", "note")
    )
)
AGENDA_PROPOSERS = PreparedQuery(
    lambda slug: (
        AgendaItem.proposers.through.objects.filter(agendaitem__meeting__slug=slug)
        .order_by("participant__code")
        .values_list("agendaitem_id", "participant__code")
    )
)
AGENDA_OBSERVER_PROPOSERS = PreparedQuery(
    lambda slug: (
        AgendaItem.observer_proposers.through.objects.filter(agendaitem__meeting__slug=slug)
        .order_by("observer__code")
        .values_list("agendaitem_id", "observer__code")
    )
)
AGENDA_ENTRIES = PreparedQuery(
    lambda slug: (
        AgendaEntry.objects.filter(version__meeting__slug=slug)
        .order_by("order", "id")
        .values_list(
            "version_id",
            "item_id",
            "item__title",
            "status",
            "order",
            "time_slot_minutes",
            "item__time_slot_minutes",
            "removal_decision__slug",
            "note",
        )
    )
)


def meeting_agenda(slug: str) -> dict:
    """A meeting's agenda in every version, built from `.values_list()` rows.

    Queries: versions, proposers, observer proposers, entries (with item title and removal
    decision slug): 4 for any size of agenda, plus 1 to tell "no versions" from "no meeting".
    Dicts, not nested ModelSerializers, and queries compiled once (`PreparedQuery`): 7.4x the
    requests/s of a nested ModelSerializer version of this endpoint, 0.8x those of a bare
    Django view building the same dicts, on a 150-entry synthetic agenda (docs/benchmarks.md,
    API).
    """
    versions = AGENDA_VERSIONS.rows(slug=slug)
    if not versions:
        get_object_or_404(Meeting.objects.only("id"), slug=slug)
        return {"meeting": slug, "versions": []}
    proposers = defaultdict(list)
    for item_id, code in AGENDA_PROPOSERS.rows(slug=slug):
        proposers[item_id].append(code)
    observer_proposers = defaultdict(list)
    for item_id, code in AGENDA_OBSERVER_PROPOSERS.rows(slug=slug):
        observer_proposers[item_id].append(code)
    items = defaultdict(list)
    for entry in AGENDA_ENTRIES.rows(slug=slug):
        version_id, item_id, title, status, order, slot, item_slot, decision, note = entry
        items[version_id].append(
            {
                "id": item_id,
                "title": title,
                "status": status,
                "order": order,
                "time_slot_minutes": slot if slot is not None else item_slot,
                "removal_decision": decision,
                "proposers": proposers.get(item_id, []),
                "observer_proposers": observer_proposers.get(item_id, []),
                "note": note,
            }
        )
    return {
        "meeting": slug,
        "versions": [
            {
                "number": number,
                "label": label,
                "dated": dated,
                "note": note,
                "items": items.get(version_id, []),
            }
            for version_id, number, label, dated, note in versions
        ],
    }


AGENDA_CSV_COLUMNS = [
    "meeting",
    "version",
    "version_label",
    "version_dated",
    *AgendaEntryRowSerializer().fields,
]


def agenda_csv_rows(agenda: dict) -> list[dict]:
    """The agenda flattened for CSV: one row per item per version."""
    return [
        {
            "meeting": agenda["meeting"],
            "version": version["number"],
            "version_label": version["label"],
            "version_dated": version["dated"],
            **item,
        }
        for version in agenda["versions"]
        for item in version["items"]
    ]


@extend_schema_view(
    list=extend_schema(summary="Meetings", tags=["meetings"]),
    retrieve=extend_schema(
        summary="A meeting, by slug (e.g. 2022-intersessional-kasane)", tags=["meetings"]
    ),
    create=extend_schema(summary="Add a meeting", tags=["meetings"]),
    update=extend_schema(summary="Replace a meeting", tags=["meetings"]),
    partial_update=extend_schema(summary="Change a meeting", tags=["meetings"]),
    destroy=extend_schema(
        summary="Delete a meeting",
        description="Refused with 409 while decisions or proposals name it.",
        tags=["meetings"],
    ),
)
class MeetingViewSet(ApiModelViewSet):
    # Queries: page (and count), attendees, sessions, their boycotters, sources: 6 at most.
    queryset = Meeting.objects.select_related("host", "chair", "chair_person").prefetch_related(
        Prefetch("attendees", queryset=Participant.objects.only("id", "code").order_by("code")),
        Prefetch(
            "sessions",
            queryset=Session.objects.select_related("chaired_by").prefetch_related(
                Prefetch("boycotted_by", queryset=Participant.objects.only("id", "code"))
            ),
        ),
        sources_prefetch(),
    )
    serializer_class = MeetingSerializer
    lookup_field = "slug"
    filterset_class = MeetingFilter
    ordering_fields = ["start_date", "slug"]

    def get_csv_header(self) -> list[str]:
        if self.action == "agenda":
            return AGENDA_CSV_COLUMNS
        return super().get_csv_header()

    @extend_schema(
        summary="A meeting's agenda, every version with each item's status in it",
        description="In CSV, one row per item per version.",
        tags=["meetings"],
        filters=False,
        responses={200: AgendaSerializer, 404: OpenApiResponse(description="No such meeting.")},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def agenda(self, request, slug=None):
        agenda = meeting_agenda(slug)
        if isinstance(request.accepted_renderer, CSVRenderer):
            return Response(agenda_csv_rows(agenda))
        return Response(agenda)


# --- agenda items ---------------------------------------------------------------------------


class AgendaHistorySerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)
    version_label = serializers.CharField(source="version.label", read_only=True)
    version_dated = serializers.DateField(source="version.dated", read_only=True, allow_null=True)
    removal_decision = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = AgendaEntry
        fields = [
            "version",
            "version_label",
            "version_dated",
            "status",
            "order",
            "time_slot_minutes",
            "removal_decision",
            "note",
        ]


class AgendaItemSerializer(CleanModelSerializer):
    meeting = meeting_slug_field()
    proposers = participant_code_field(many=True, required=False)
    observer_proposers = observer_code_field(many=True, required=False)
    removed_by = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="Slug of the blocked decision that removed the item (set by the engine).",
    )
    history = AgendaHistorySerializer(
        source="entries", many=True, read_only=True, help_text="The item in each agenda version."
    )
    sources = source_keys_field()

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "meeting",
            "title",
            "description",
            "time_slot_minutes",
            "proposers",
            "observer_proposers",
            "proposers_note",
            "removed_by",
            "history",
            "sources",
        ]


class AgendaItemFilter(ApiFilterSet):
    meeting = django_filters.CharFilter(field_name="meeting__slug", help_text="Meeting slug.")
    year = YearFilter(field_name="meeting__start_date", lookup_expr="year")
    proposer = ParticipantCodeFilter(field_name="proposers__code", distinct=True)
    removed = StrictBooleanFilter(
        field_name="removed_by",
        lookup_expr="isnull",
        exclude=True,
        help_text="Removed from the agenda by a blocked decision.",
    )
    status = django_filters.ChoiceFilter(
        field_name="entries__status",
        choices=AgendaEntry.Status.choices,
        distinct=True,
        help_text="Had this status in some version.",
    )
    q = django_filters.CharFilter(
        method="search",
        help_text="Full-text search in title, description and the note on proposers "
        "(PostgreSQL web-search syntax: quoted phrases, `or`, `-word`).",
    )

    class Meta:
        model = AgendaItem
        fields = ["meeting", "year", "proposer", "removed", "status", "q"]

    def search(self, queryset, name, value):
        return text_search(queryset, ["title", "description", "proposers_note"], value)


@extend_schema_view(
    list=extend_schema(summary="Agenda items, with their history", tags=["meetings"]),
    retrieve=extend_schema(summary="An agenda item, by id", tags=["meetings"]),
    create=extend_schema(summary="Add an agenda item", tags=["meetings"]),
    update=extend_schema(summary="Replace an agenda item", tags=["meetings"]),
    partial_update=extend_schema(summary="Change an agenda item", tags=["meetings"]),
    destroy=extend_schema(
        summary="Delete an agenda item",
        description="Refused with 409 while a decision is about it.",
        tags=["meetings"],
    ),
)
class AgendaItemViewSet(ApiModelViewSet):
    # Queries: page, history (entries with version and decision), proposers, observer
    # proposers, sources: 5 for any page size.
    queryset = (
        AgendaItem.objects.select_related("meeting", "removed_by")
        .annotate(date_key=F("meeting__start_date"))
        .prefetch_related(
            Prefetch(
                "entries",
                queryset=AgendaEntry.objects.select_related("version", "removal_decision").order_by(
                    "version__number"
                ),
            ),
            Prefetch("proposers", queryset=Participant.objects.only("id", "code").order_by("code")),
            "observer_proposers",
            sources_prefetch(),
        )
    )
    serializer_class = AgendaItemSerializer
    filterset_class = AgendaItemFilter
    pagination_class = KeysetPagination
    keyset_orderings = {
        "-date": ("-date_key", "-id"),
        "date": ("date_key", "id"),
        "-id": ("-id",),
        "id": ("id",),
    }


routes = [
    ("meetings", MeetingViewSet, "meeting"),
    ("agenda-items", AgendaItemViewSet, "agenda-item"),
]
