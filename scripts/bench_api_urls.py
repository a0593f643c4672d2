"""The API benchmark's URLconf: the site as in production, plus two variants of the two hot
endpoints that exist only here, never in production URLs:

- /bench/floor/...: bare Django JSON views doing the same database work and building the same
  dicts as the API, with no DRF at all (the floor);
- /bench/usual/...: DRF the usual way, nested ModelSerializers over select_related and
  prefetch_related querysets.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import JsonResponse
from django.urls import include, path
from rest_framework import generics, permissions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer

from meetings.api import meeting_agenda
from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Meeting
from participants.models import Participant
from proposals.api import OBJECTION_PAGE, PAGE_COLUMNS, objection_rows
from proposals.models import Decision, Letter, Position, Proposal

PAGE = 50

# --- the floor: plain Django ------------------------------------------------------------------


def floor_objections(request):
    # The same two queries as the API's first page: the prepared page (one row more, to know
    # whether there is a next page), then the decisions of the page.
    page = OBJECTION_PAGE.rows(_descending=True, _limit=PAGE + 1)[:PAGE]
    rows = objection_rows([dict(zip(PAGE_COLUMNS, row, strict=True)) for row in page])
    return JsonResponse({"results": rows}, encoder=DjangoJSONEncoder)


def floor_agenda(request, slug):
    return JsonResponse(meeting_agenda(slug), encoder=DjangoJSONEncoder)


# --- the usual way: nested ModelSerializers ---------------------------------------------------


class UsualParticipant(serializers.ModelSerializer):
    class Meta:
        model = Participant
        fields = ["code", "name"]


class UsualMeeting(serializers.ModelSerializer):
    class Meta:
        model = Meeting
        fields = ["slug", "start_date"]


class UsualItem(serializers.ModelSerializer):
    class Meta:
        model = AgendaItem
        fields = ["id", "title"]


class UsualProposal(serializers.ModelSerializer):
    class Meta:
        model = Proposal
        fields = ["slug", "title"]


class UsualDecision(serializers.ModelSerializer):
    meeting = UsualMeeting(allow_null=True)
    agenda_item = UsualItem(allow_null=True)
    proposal = UsualProposal(allow_null=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "slug",
            "title",
            "subject_kind",
            "date",
            "outcome",
            "meeting",
            "agenda_item",
            "proposal",
        ]


class UsualLetter(serializers.ModelSerializer):
    class Meta:
        model = Letter
        fields = ["slug"]


class UsualObjection(serializers.ModelSerializer):
    participant = UsualParticipant()
    decision = UsualDecision()
    letter = UsualLetter(allow_null=True)

    class Meta:
        model = Position
        fields = ["id", "participant", "decision", "stance", "reason", "letter"]


class UsualCursor(CursorPagination):
    page_size = PAGE
    ordering = "-id"


class UsualObjections(generics.ListAPIView):
    queryset = (
        Position.objects.objections()
        .filter(participant__isnull=False)
        .select_related(
            "participant",
            "decision__meeting",
            "decision__agenda_item",
            "decision__proposal",
            "letter",
        )
    )
    serializer_class = UsualObjection
    pagination_class = UsualCursor
    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONRenderer]


class UsualAgendaItem(serializers.ModelSerializer):
    proposers = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    observer_proposers = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = AgendaItem
        fields = ["id", "title", "time_slot_minutes", "proposers", "observer_proposers"]


class UsualEntry(serializers.ModelSerializer):
    item = UsualAgendaItem()
    removal_decision = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AgendaEntry
        fields = ["item", "status", "order", "time_slot_minutes", "removal_decision", "note"]


class UsualVersion(serializers.ModelSerializer):
    entries = UsualEntry(many=True)

    class Meta:
        model = AgendaVersion
        fields = ["number", "label", "dated", "note", "entries"]


class UsualAgenda(serializers.ModelSerializer):
    agenda_versions = UsualVersion(many=True)

    class Meta:
        model = Meeting
        fields = ["slug", "agenda_versions"]


class UsualAgendaView(generics.RetrieveAPIView):
    queryset = Meeting.objects.prefetch_related(
        Prefetch(
            "agenda_versions",
            queryset=AgendaVersion.objects.order_by("number").prefetch_related(
                Prefetch(
                    "entries",
                    queryset=AgendaEntry.objects.select_related("item", "removal_decision")
                    .prefetch_related("item__proposers", "item__observer_proposers")
                    .order_by("order", "id"),
                )
            ),
        )
    )
    serializer_class = UsualAgenda
    lookup_field = "slug"
    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONRenderer]


urlpatterns = [
    path("bench/floor/objections/", floor_objections),
    path("bench/floor/agenda/<slug:slug>/", floor_agenda),
    path("bench/usual/objections/", UsualObjections.as_view()),
    path("bench/usual/agenda/<slug:slug>/", UsualAgendaView.as_view()),
    path("", include("kp_tracker.urls")),
]
