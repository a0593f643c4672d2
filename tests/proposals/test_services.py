"""decision_record: a decision and the positions held on it, validated, written in bulk with
their history, and the outcome recomputed once."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meetings.models import AgendaItem
from proposals.models import Decision, Position
from proposals.services import PositionInput, decision_record
from tests.factories import (
    AgendaItemFactory,
    DecisionFactory,
    MeetingFactory,
    ObserverFactory,
    ParticipantFactory,
    PositionFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(django_user_model):
    return django_user_model.objects.create_user(username="clerk")


def test_a_new_decision_with_its_positions_is_blocked_and_removes_its_item(actor):
    meeting = MeetingFactory()
    item = AgendaItemFactory(meeting=meeting)
    russia, ukraine = ParticipantFactory(), ParticipantFactory()
    coalition = ObserverFactory()
    source = SourceFactory()
    decision = Decision(
        slug="kasane-item",
        title="Keep the item",
        subject_kind=Decision.SubjectKind.AGENDA_ITEM,
        agenda_item=item,
        meeting=meeting,
    )

    result = decision_record(
        decision=decision,
        positions=[
            PositionInput(participant=russia, stance="objection", reason=" Out of scope "),
            PositionInput(participant=ukraine, stance="support"),
            PositionInput(observer=coalition, stance="support"),
        ],
        actor=actor,
        sources=[source],
    )

    assert (result.created, result.updated, result.deleted) == (3, 0, 0)
    assert result.decision.outcome == Decision.Outcome.BLOCKED
    assert result.decision.explanation["blocked_by"] == [russia.code]
    assert AgendaItem.objects.get().removed_by == result.decision
    assert list(decision.sources.all()) == [source]
    objection = Position.objects.get(participant=russia)
    assert objection.reason == "Out of scope"
    assert list(objection.sources.all()) == [source]
    assert objection.history.get().history_user == actor
    assert decision.history.get().history_user == actor


def test_positions_not_named_are_left_alone_and_no_stance_deletes(actor):
    decision = DecisionFactory()
    kept = PositionFactory(decision=decision, stance="support")
    cleared = PositionFactory(decision=decision, stance="objection")
    changed = PositionFactory(decision=decision, stance="abstention", reason="")

    result = decision_record(
        decision=decision,
        positions=[
            PositionInput(participant=cleared.participant),
            PositionInput(participant=changed.participant, stance="objection", reason="Why"),
        ],
        actor=actor,
    )

    assert (result.created, result.updated, result.deleted) == (0, 1, 1)
    assert Position.objects.get(pk=kept.pk).stance == "support"
    assert not Position.objects.filter(pk=cleared.pk).exists()
    changed.refresh_from_db()
    assert (changed.stance, changed.reason, changed.lock_version) == ("objection", "Why", 2)
    assert changed.history.latest().history_user == actor
    assert result.decision.outcome == Decision.Outcome.BLOCKED
    # The decision's own fields did not change: it was not saved again, nor its history grown.
    assert (decision.history.count(), Decision.objects.get().lock_version) == (1, 1)


@pytest.mark.parametrize(
    "positions, message",
    [
        ("twice", "Two positions were given for the same participant."),
        ("bad stance", "“maybe” is not a stance."),
        ("no holder", "A position is held by a participant or an observer."),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(actor, positions, message):
    decision = DecisionFactory(summary="Before")
    participant = ParticipantFactory()
    given = {
        "twice": [
            PositionInput(participant=participant, stance="support"),
            PositionInput(participant=participant, stance="objection"),
        ],
        "bad stance": [PositionInput(participant=participant, stance="maybe")],
        "no holder": [PositionInput(stance="support")],
    }[positions]
    decision.summary = "After"

    with pytest.raises(ValidationError, match=message):
        decision_record(decision=decision, positions=given, actor=actor)

    assert Decision.objects.get().summary == "Before"
    assert not Position.objects.exists()


def test_a_new_decision_needs_a_source(actor):
    item = AgendaItemFactory()
    decision = Decision(
        slug="x", title="X", subject_kind="agenda_item", agenda_item=item, meeting=item.meeting
    )
    with pytest.raises(ValidationError, match="needs at least one source"):
        decision_record(decision=decision, positions=[], actor=actor)
    assert not Decision.objects.exists()


def test_queries_do_not_grow_with_the_positions(actor):
    def queries(count: int) -> int:
        decision = DecisionFactory()
        positions = [
            PositionInput(participant=p, stance="support")
            for p in ParticipantFactory.create_batch(count)
        ]
        source = SourceFactory()
        with CaptureQueriesContext(connection) as captured:
            decision_record(decision=decision, positions=positions, actor=actor, sources=[source])
        return len(captured)

    few, many = queries(5), queries(50)
    assert few == many
    # The decision compared with its row (unchanged here, so neither validated nor saved), its
    # sources, the positions locked, inserted with their history rows and sources (one query
    # each), one recompute with its consequences (about twenty), the outcome read back.
    assert few <= 40
