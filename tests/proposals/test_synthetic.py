"""The synthetic record: the sizes asked for, reproducible from its seed, and current outcomes."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Attendance, Meeting
from participants.models import Observer, Participant, ParticipantStatus
from proposals import synthetic
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import Source
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db

TINY = synthetic.Sizes(meetings=3, participants=12, agenda_items=20, decisions=40, letters=30)
TINY_ARGS = [
    "--meetings=3",
    "--participants=12",
    "--agenda-items=20",
    "--decisions=40",
    "--letters=30",
    "--no-progress",
]


def generate(*args: str) -> None:
    call_command("generate_synthetic_record", *TINY_ARGS, *args, verbosity=0)


def synthetic_participants():
    return Participant.objects.filter(name__startswith=synthetic.PARTICIPANT_NAME_PREFIX)


def snapshot() -> dict[str, list]:
    """Everything generated, by stable identifiers rather than ids (which differ between runs)."""
    meetings = Meeting.objects.filter(slug__startswith=synthetic.PREFIX)
    decisions = Decision.objects.filter(slug__startswith=synthetic.PREFIX)

    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields), key=repr)

    return {
        "participants": rows(synthetic_participants(), "code", "name", "kind", "joined_on"),
        "statuses": rows(
            ParticipantStatus.objects.filter(participant__in=synthetic_participants()),
            "participant__code",
            "status",
            "start_date",
            "end_date",
        ),
        "observers": rows(Observer.objects.filter(code__startswith="synthetic-"), "code", "name"),
        "meetings": rows(meetings, "slug", "kind", "start_date", "end_date", "host__code", "city"),
        "attendance": rows(
            Attendance.objects.filter(meeting__in=meetings), "meeting__slug", "participant__code"
        ),
        "agenda items": rows(
            AgendaItem.objects.filter(meeting__in=meetings),
            "meeting__slug",
            "title",
            "time_slot_minutes",
            "proposers__code",
            "observer_proposers__code",
            "removed_by__slug",
        ),
        "agenda entries": rows(
            AgendaEntry.objects.filter(version__meeting__in=meetings),
            "version__meeting__slug",
            "version__number",
            "version__label",
            "version__dated",
            "item__title",
            "status",
            "order",
            "removal_decision__slug",
        ),
        "letters": rows(
            Letter.objects.filter(slug__startswith=synthetic.PREFIX),
            "slug",
            "date",
            "date_precision",
            "subject",
            "summary",
            "publicity",
            "authors__code",
            "observer_authors__code",
        ),
        "proposals": rows(
            Proposal.objects.filter(slug__startswith=synthetic.PREFIX),
            "slug",
            "title",
            "kind",
            "meeting__slug",
            "agenda_item__title",
            "status",
            "sponsors__code",
            "letters__slug",
        ),
        "decisions": rows(
            decisions,
            "slug",
            "title",
            "subject_kind",
            "agenda_item__title",
            "proposal__slug",
            "meeting__slug",
            "method",
            "date",
            "positions_complete",
            "reported_outcome",
            "outcome",
            "explanation",
            "counterfactuals",
            "parties_concerned__code",
        ),
        "positions": rows(
            Position.objects.filter(decision__in=decisions),
            "decision__slug",
            "participant__code",
            "observer__code",
            "stance",
            "reason",
            "letter__slug",
        ),
    }


def test_generates_the_sizes_asked_for_with_every_participants_position_on_every_decision():
    generate()

    participants = synthetic_participants()
    decisions = Decision.objects.filter(slug__startswith=synthetic.PREFIX)
    assert participants.count() == 12
    assert Meeting.objects.filter(slug__startswith=synthetic.PREFIX).count() == 3
    assert AgendaItem.objects.filter(meeting__slug__startswith=synthetic.PREFIX).count() == 20
    assert decisions.count() == 40
    assert Letter.objects.filter(slug__startswith=synthetic.PREFIX).count() == 30
    assert Position.objects.filter(participant__in=participants).count() == 40 * 12
    for decision in decisions.prefetch_related("positions"):
        holders = [p.participant_id for p in decision.positions.all() if p.participant_id]
        assert len(holders) == len(set(holders)) == 12
    # One source cites every top-level record; positions hang off decisions that carry it.
    source = Source.objects.get(key=synthetic.SOURCE_KEY)
    for model in (Participant, Observer, Meeting, AgendaItem, AgendaVersion, Letter, Decision):
        assert model.objects.exists() and not model.objects.exclude(sources=source).exists()
    assert not Position.objects.filter(sources=source).exists()


def test_the_record_has_the_mixes_that_statistics_and_pages_need():
    generate()
    decisions = Decision.objects.filter(slug__startswith=synthetic.PREFIX)

    outcomes = set(decisions.values_list("outcome", flat=True))
    assert {Decision.Outcome.ADOPTED, Decision.Outcome.BLOCKED} <= outcomes
    assert decisions.adopted().count() > decisions.blocked().count()  # most pass in silence
    assert Position.objects.objections().filter(participant__isnull=False).exists()
    assert Position.objects.filter(stance=Position.Stance.NO_POSITION).count() > (
        Position.objects.exclude(stance=Position.Stance.NO_POSITION).count()
    )
    assert ParticipantStatus.objects.filter(
        participant__in=synthetic_participants(), status=ParticipantStatus.Status.SUSPENDED
    ).exists()
    assert not Letter.objects.filter(authors=None, observer_authors=None).exists()
    # Every removed agenda entry names the blocked decision that removed its item.
    for entry in AgendaEntry.objects.filter(status=AgendaEntry.Status.REMOVED):
        assert entry.removal_decision.outcome == Decision.Outcome.BLOCKED
        assert entry.removal_decision.agenda_item_id == entry.item_id


def test_the_same_seed_gives_the_same_record_and_another_seed_another():
    generate()
    first = snapshot()
    generate("--flush")
    assert snapshot() == first

    generate("--flush", "--seed=2")
    assert snapshot() != first


def test_outcomes_are_current_after_generation():
    generate()
    # Counterfactuals too: recomputing from the positions changes nothing.
    assert engine.recompute() == 0
    assert not Decision.objects.filter(slug__startswith=synthetic.PREFIX, explanation={}).exists()


def test_bulk_create_writes_the_same_positions_as_copy():
    synthetic.generate(sizes=TINY, seed=5)
    copied = snapshot()
    synthetic.generate(sizes=TINY, seed=5, flush_first=True, use_copy=False)
    assert snapshot() == copied


def test_codes_already_taken_are_left_alone():
    taken = {p.code for p in ParticipantFactory.create_batch(5)}
    generate()
    codes = set(synthetic_participants().values_list("code", flat=True))
    assert len(codes) == 12 and not codes & taken


def test_a_second_record_needs_flush():
    generate()
    with pytest.raises(CommandError, match="--flush"):
        generate()


def test_flush_only_deletes_the_synthetic_record_and_nothing_else():
    keep = ParticipantFactory()
    generate()
    call_command("generate_synthetic_record", "--flush-only", verbosity=0)

    assert list(Participant.objects.all()) == [keep]
    assert not Source.objects.filter(key=synthetic.SOURCE_KEY).exists()
    for model in (Meeting, AgendaItem, Letter, Proposal, Decision, Position, Observer):
        assert not model.objects.exists(), model


def test_sizes_that_cannot_make_a_record_are_refused():
    with pytest.raises(CommandError, match="at least three participants"):
        call_command("generate_synthetic_record", "--participants=2", verbosity=0)
