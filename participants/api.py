"""The participants API: participants (by ISO code), observers, people, working bodies, chairs."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from kp_tracker.api_common import (
    ApiFilterSet,
    CleanModelSerializer,
    StrictBooleanFilter,
    StrictSlugRelatedField,
    YearFilter,
    source_keys_field,
    sources_prefetch,
)
from kp_tracker.api_views import ApiModelViewSet
from participants.models import (
    Chairmanship,
    Observer,
    Participant,
    ParticipantStatus,
    Person,
    Role,
    WorkingBody,
)


class ParticipantCodeFilter(django_filters.CharFilter):
    """A participant by ISO code, case-insensitive; several separated by commas (`RU,BY`).

    An unknown code matches nothing, as any filter value with no match does.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Participant ISO 3166-1 alpha-2 code (EU for the European Union); "
            "several separated by commas.",
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        qs = qs.filter(**{f"{self.field_name}__in": codes})
        return qs.distinct() if self.distinct else qs


def participant_code_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Participant.objects.all())
    return StrictSlugRelatedField(slug_field="code", **kwargs)


def observer_code_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Observer.objects.all())
    return StrictSlugRelatedField(slug_field="code", **kwargs)


def person_slug_field(**kwargs) -> serializers.SlugRelatedField:
    kwargs.setdefault("queryset", Person.objects.all())
    return StrictSlugRelatedField(slug_field="slug", **kwargs)


class UpperCaseLookupMixin:
    """Look participants up by code whatever the case: /participants/ru/ is Russia."""

    def get_object(self):
        key = self.lookup_url_kwarg or self.lookup_field
        self.kwargs[key] = self.kwargs[key].upper()
        return super().get_object()


# --- participants ---------------------------------------------------------------------------


class ParticipantStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = ParticipantStatus
        fields = ["status", "start_date", "end_date", "note"]


class ParticipantSerializer(CleanModelSerializer):
    statuses = ParticipantStatusSerializer(
        many=True, read_only=True, help_text="Standing over time; none means active throughout."
    )
    sources = source_keys_field()

    class Meta:
        model = Participant
        fields = ["code", "name", "kind", "joined_on", "note", "statuses", "sources"]


class ParticipantFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=Participant.Kind.choices)
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Participant
        fields = ["kind", "name"]


@extend_schema_view(
    list=extend_schema(summary="Participants", tags=["participants"]),
    retrieve=extend_schema(summary="A participant, by ISO code", tags=["participants"]),
    create=extend_schema(summary="Add a participant", tags=["participants"]),
    update=extend_schema(summary="Replace a participant", tags=["participants"]),
    partial_update=extend_schema(summary="Change a participant", tags=["participants"]),
    destroy=extend_schema(
        summary="Delete a participant",
        description="Refused with 409 while positions, meetings or roles name it.",
        tags=["participants"],
    ),
)
class ParticipantViewSet(UpperCaseLookupMixin, ApiModelViewSet):
    # Queries: page (and count), statuses, sources: 4 for any page size.
    queryset = Participant.objects.prefetch_related(
        Prefetch("statuses", queryset=ParticipantStatus.objects.order_by("start_date", "id")),
        sources_prefetch(),
    )
    serializer_class = ParticipantSerializer
    lookup_field = "code"
    filterset_class = ParticipantFilter
    ordering_fields = ["name", "code", "joined_on"]


# --- observers ------------------------------------------------------------------------------


class ObserverSerializer(CleanModelSerializer):
    sources = source_keys_field()

    class Meta:
        model = Observer
        fields = ["code", "name", "description", "sources"]


@extend_schema_view(
    list=extend_schema(summary="Observers", tags=["participants"]),
    retrieve=extend_schema(summary="An observer, by code", tags=["participants"]),
    create=extend_schema(summary="Add an observer", tags=["participants"]),
    update=extend_schema(summary="Replace an observer", tags=["participants"]),
    partial_update=extend_schema(summary="Change an observer", tags=["participants"]),
    destroy=extend_schema(summary="Delete an observer", tags=["participants"]),
)
class ObserverViewSet(ApiModelViewSet):
    queryset = Observer.objects.prefetch_related(sources_prefetch())
    serializer_class = ObserverSerializer
    lookup_field = "code"
    ordering_fields = ["name", "code"]


# --- people ---------------------------------------------------------------------------------


class RoleSerializer(serializers.ModelSerializer):
    participant = participant_code_field(read_only=True, queryset=None, allow_null=True)
    observer = observer_code_field(read_only=True, queryset=None, allow_null=True)

    class Meta:
        model = Role
        fields = ["title", "participant", "observer", "organisation", "start_date", "end_date"]


class PersonSerializer(CleanModelSerializer):
    roles = RoleSerializer(many=True, read_only=True, help_text="Capacities the person spoke in.")
    sources = source_keys_field()

    class Meta:
        model = Person
        fields = ["slug", "name", "roles", "sources"]


class PersonFilter(ApiFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")
    participant = ParticipantCodeFilter(field_name="roles__participant__code", distinct=True)

    class Meta:
        model = Person
        fields = ["name", "participant"]


@extend_schema_view(
    list=extend_schema(summary="People", tags=["participants"]),
    retrieve=extend_schema(summary="A person, by slug", tags=["participants"]),
    create=extend_schema(summary="Add a person", tags=["participants"]),
    update=extend_schema(summary="Replace a person", tags=["participants"]),
    partial_update=extend_schema(summary="Change a person", tags=["participants"]),
    destroy=extend_schema(summary="Delete a person", tags=["participants"]),
)
class PersonViewSet(ApiModelViewSet):
    # Queries: page (and count), roles with their participant and observer, sources.
    queryset = Person.objects.prefetch_related(
        Prefetch(
            "roles",
            queryset=Role.objects.select_related("participant", "observer").order_by(
                "start_date", "id"
            ),
        ),
        sources_prefetch(),
    )
    serializer_class = PersonSerializer
    lookup_field = "slug"
    filterset_class = PersonFilter
    ordering_fields = ["name", "slug"]


# --- working bodies and chairs --------------------------------------------------------------


class WorkingBodySerializer(CleanModelSerializer):
    sources = source_keys_field()

    class Meta:
        model = WorkingBody
        fields = ["slug", "name", "kind", "sources"]


class WorkingBodyFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=WorkingBody.Kind.choices)

    class Meta:
        model = WorkingBody
        fields = ["kind"]


@extend_schema_view(
    list=extend_schema(summary="Working bodies", tags=["participants"]),
    retrieve=extend_schema(summary="A working body, by slug", tags=["participants"]),
    create=extend_schema(summary="Add a working body", tags=["participants"]),
    update=extend_schema(summary="Replace a working body", tags=["participants"]),
    partial_update=extend_schema(summary="Change a working body", tags=["participants"]),
    destroy=extend_schema(summary="Delete a working body", tags=["participants"]),
)
class WorkingBodyViewSet(ApiModelViewSet):
    queryset = WorkingBody.objects.prefetch_related(sources_prefetch())
    serializer_class = WorkingBodySerializer
    lookup_field = "slug"
    filterset_class = WorkingBodyFilter
    ordering_fields = ["name", "slug"]


class ChairmanshipSerializer(CleanModelSerializer):
    body = StrictSlugRelatedField(
        slug_field="slug",
        queryset=WorkingBody.objects.all(),
        allow_null=True,
        required=False,
        help_text="The working body chaired; null for the chair of the Kimberley Process.",
    )
    participant = participant_code_field()
    person = person_slug_field(allow_null=True, required=False)
    sources = source_keys_field()

    class Meta:
        model = Chairmanship
        fields = ["id", "year", "body", "participant", "person", "vice", "sources"]


class ChairmanshipFilter(ApiFilterSet):
    year = YearFilter()
    body = django_filters.CharFilter(
        method="filter_body",
        help_text="A working body's slug, or `kp` for the chair of the Kimberley Process.",
    )
    participant = ParticipantCodeFilter(field_name="participant__code")
    vice = StrictBooleanFilter()

    class Meta:
        model = Chairmanship
        fields = ["year", "body", "participant", "vice"]

    def filter_body(self, queryset, name, value):
        if value == "kp":
            return queryset.filter(body__isnull=True)
        return queryset.filter(body__slug=value)


@extend_schema_view(
    list=extend_schema(summary="Chairs of the KP and its working bodies", tags=["participants"]),
    retrieve=extend_schema(summary="A chairmanship, by id", tags=["participants"]),
    create=extend_schema(summary="Add a chairmanship", tags=["participants"]),
    update=extend_schema(summary="Replace a chairmanship", tags=["participants"]),
    partial_update=extend_schema(summary="Change a chairmanship", tags=["participants"]),
    destroy=extend_schema(summary="Delete a chairmanship", tags=["participants"]),
)
class ChairmanshipViewSet(ApiModelViewSet):
    queryset = Chairmanship.objects.select_related(
        "body", "participant", "person"
    ).prefetch_related(sources_prefetch())
    serializer_class = ChairmanshipSerializer
    filterset_class = ChairmanshipFilter
    ordering_fields = ["year"]


routes = [
    ("participants", ParticipantViewSet, "participant"),
    ("observers", ObserverViewSet, "observer"),
    ("people", PersonViewSet, "person"),
    ("working-bodies", WorkingBodyViewSet, "working-body"),
    ("chairs", ChairmanshipViewSet, "chair"),
]
