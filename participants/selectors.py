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


def participant_list(today: datetime.date) -> list[Participant]:
    """Every participant with its objections and vetoes counted and its statuses in force today.

    The counts come from one aggregate over objections alone (the stance-and-holder index),
    not from counting every participant's positions: a large record has a position for every
    participant on every decision, nearly all of them no position at all.
    """
    from proposals.models import Decision, Position

    # Blocked decisions as a subquery PostgreSQL hashes once, not a join: joining every
    # objection to its (wide) decision row for the outcome took 3 times as long (20 ms
    # against 58 ms in the same minute on the synthetic record).
    blocked = Decision.objects.filter(outcome=BLOCKED).values("pk")
    counts = {
        row["participant_id"]: row
        for row in Position.objects.filter(stance=OBJECTION, participant__isnull=False)
        .values("participant_id")
        # Counting decisions (never null), not ids: the stance-and-holder index holds them, and
        # answers without the table.
        .annotate(
            objections=Count("decision"),
            vetoes=Count("decision", filter=Q(decision_id__in=blocked)),
        )
        .order_by()
    }
    participants = list(
        Participant.objects.prefetch_related(
            Prefetch(
                "statuses",
                queryset=ParticipantStatus.objects.covering(today).order_by("start_date"),
                to_attr="statuses_today",
            )
        ).order_by("name")
    )
    for participant in participants:
        row = counts.get(participant.pk, {})
        participant.objections = row.get("objections", 0)
        participant.vetoes = row.get("vetoes", 0)
    return participants


def objection_totals(participant: Participant) -> dict[str, int]:
    """A participant's objections, vetoes, and meetings with vetoes, from its objections alone."""
    from proposals.models import Position

    blocked = Q(decision__outcome=BLOCKED)
    return Position.objects.filter(participant=participant, stance=OBJECTION).aggregate(
        objections=Count("pk"),
        vetoes=Count("pk", filter=blocked),
        meetings_with_vetoes=Count("decision__meeting", filter=blocked, distinct=True),
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
