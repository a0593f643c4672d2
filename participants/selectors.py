"""Reads of participants, observers and people for the public pages.

Each function returns objects with everything its page shows already joined or prefetched, so a
template never queries. Counts and vetoes come from the statistics selectors of the engine.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from participants.models import (
    Chairmanship,
    Observer,
    Participant,
    ParticipantStatus,
    Person,
    Role,
)

OBJECTION = "objection"
BLOCKED = "blocked"


def participant_list(today: datetime.date) -> QuerySet[Participant]:
    """Every participant with its objections and vetoes counted and its statuses in force today."""
    objection = Q(positions__stance=OBJECTION)
    return (
        Participant.objects.annotate(
            objections=Count("positions", filter=objection),
            vetoes=Count("positions", filter=objection & Q(positions__decision__outcome=BLOCKED)),
        )
        .prefetch_related(
            Prefetch(
                "statuses",
                queryset=ParticipantStatus.objects.covering(today).order_by("start_date"),
                to_attr="statuses_today",
            )
        )
        .order_by("name")
    )


def participant_detail() -> QuerySet[Participant]:
    """Participants with their sources, statuses, chairs held and people, for the detail page."""
    return Participant.objects.prefetch_related(
        "sources",
        Prefetch(
            "statuses",
            queryset=ParticipantStatus.objects.prefetch_related("sources").order_by("start_date"),
        ),
        Prefetch(
            "chairmanships",
            queryset=Chairmanship.objects.select_related("body", "person")
            .prefetch_related("sources")
            .order_by("-year", "body__name", "vice"),
        ),
        Prefetch(
            "roles",
            queryset=Role.objects.select_related("person")
            .prefetch_related("sources")
            .order_by("start_date", "person__name"),
        ),
    )


def observer_detail() -> QuerySet[Observer]:
    return Observer.objects.prefetch_related(
        "sources",
        Prefetch(
            "roles",
            queryset=Role.objects.select_related("person")
            .prefetch_related("sources")
            .order_by("start_date", "person__name"),
        ),
    )


def person_detail() -> QuerySet[Person]:
    return Person.objects.prefetch_related(
        "sources",
        Prefetch(
            "roles",
            queryset=Role.objects.select_related("participant", "observer")
            .prefetch_related("sources")
            .order_by("start_date"),
        ),
        Prefetch(
            "chairmanships",
            queryset=Chairmanship.objects.select_related("body", "participant")
            .prefetch_related("sources")
            .order_by("-year"),
        ),
    )
