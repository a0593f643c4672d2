"""The consensus engine on the database: the real record's outcomes, and how outcomes stay current.

The real record is loaded once for `TestRealRecord` (inside a transaction rolled back after the
class) because a load takes seconds; every other test builds its few rows with the factories.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from meetings.models import AgendaItem, Meeting
from participants.models import Participant, ParticipantStatus
from proposals.consensus import engine, rules
from proposals.models import Decision, Position, Proposal
from proposals.record import load_record
from tests.factories import (
    AgendaItemFactory,
    AttendanceFactory,
    DecisionFactory,
    MeetingFactory,
    ObserverFactory,
    ParticipantFactory,
    ParticipantStatusFactory,
    PositionFactory,
    ProposalFactory,
)

pytestmark = pytest.mark.django_db

ADOPTED, BLOCKED, UNDETERMINED = (
    Decision.Outcome.ADOPTED,
    Decision.Outcome.BLOCKED,
    Decision.Outcome.UNDETERMINED,
)
SUPPORT, OBJECTION, ABSTENTION = (
    Position.Stance.SUPPORT,
    Position.Stance.OBJECTION,
    Position.Stance.ABSTENTION,
)
KASANE_ITEM = "2022-kasane-ukraine-item"
KASANE_OBJECTORS = ["BY", "CF", "KG", "ML", "RU"]


# --- the real record ---------------------------------------------------------------------------


@pytest.fixture(scope="class")
def real_record(django_db_setup, django_db_blocker):
    """The real record, loaded once for the class; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        load_record()
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def recorded_counts(decision: Decision) -> dict[str, int]:
    """Count the decision's positions by hand, as the sources give them, for the tests to compare
    with the engine: who was in good standing that day, and what each of them said."""
    day = decision.date or decision.meeting.start_date
    taking_part = set(Participant.objects.in_good_standing_on(day).values_list("code", flat=True))
    stances = {
        position.participant.code: position.stance
        for position in decision.positions.filter(participant__isnull=False).select_related(
            "participant"
        )
        if position.participant.code in taking_part
    }
    supports = sum(stance == SUPPORT for stance in stances.values())
    objections = sum(stance == OBJECTION for stance in stances.values())
    abstentions = sum(stance == ABSTENTION for stance in stances.values())
    return {
        "counted": len(taking_part),
        "supports": supports,
        "objections": objections,
        "silent": len(taking_part) - supports - objections - abstentions,
    }


def two_thirds_reached(yes: int, no: int) -> bool:
    return 3 * yes >= 2 * (yes + no)


@pytest.mark.usefixtures("real_record")
class TestRealRecord:
    def test_kasane_item_is_blocked_by_five_under_consensus(self):
        decision = Decision.objects.get(slug=KASANE_ITEM)
        kasane = datetime.date(2022, 6, 20)
        assert decision.date is None and decision.meeting.start_date == kasane

        assert decision.outcome == BLOCKED
        assert decision.explanation["blocked_by"] == KASANE_OBJECTORS
        assert decision.explanation["participants_counted"] == (
            Participant.objects.in_good_standing_on(kasane).count()
        )
        assert decision.explanation["electorate"] == "good_standing"
        assert decision.explanation["counting"] == rules.SILENCE_AS_CONSENT
        assert decision.explanation["observer_objections"] == []

    def test_kasane_item_would_have_passed_under_two_thirds_with_silence_as_consent(self):
        decision = Decision.objects.get(slug=KASANE_ITEM)
        counts = recorded_counts(decision)
        yes = counts["supports"] + counts["silent"]
        assert two_thirds_reached(yes, counts["objections"])  # the expectation, from the rows

        result = engine.counterfactual(decision, "two_thirds", rules.SILENCE_AS_CONSENT)
        assert result.outcome == ADOPTED
        assert f"{yes} for, {counts['objections']} against" in result.explanation["reason"]
        assert decision.counterfactuals["two_thirds:silence_as_consent"] == ADOPTED

    def test_kasane_item_counting_only_recorded_positions(self):
        decision = Decision.objects.get(slug=KASANE_ITEM)
        counts = recorded_counts(decision)
        yes, no = counts["supports"], counts["objections"]
        assert (yes, no) == (6, 5)
        expected_two_thirds = ADOPTED if two_thirds_reached(yes, no) else BLOCKED
        expected_majority = ADOPTED if yes > no else BLOCKED
        assert (expected_two_thirds, expected_majority) == (BLOCKED, ADOPTED)

        two_thirds = engine.counterfactual(decision, "two_thirds", rules.RECORDED)
        majority = engine.counterfactual(decision, "simple_majority", rules.RECORDED)
        assert (two_thirds.outcome, majority.outcome) == (expected_two_thirds, expected_majority)
        assert list(two_thirds.blocked_by) == KASANE_OBJECTORS
        assert "6 for, 5 against" in two_thirds.explanation["reason"]
        assert decision.counterfactuals["two_thirds:recorded"] == expected_two_thirds
        assert decision.counterfactuals["simple_majority:recorded"] == expected_majority

    def test_kasane_item_without_the_party_concerned_is_still_blocked_by_four(self):
        decision = Decision.objects.get(slug=KASANE_ITEM)
        result = engine.counterfactual(
            decision, "consensus_minus_parties_concerned", rules.SILENCE_AS_CONSENT
        )
        assert (result.outcome, list(result.blocked_by)) == (BLOCKED, ["BY", "CF", "KG", "ML"])

    def test_kasane_agenda_item_is_removed_by_its_decision(self):
        decision = Decision.objects.get(slug=KASANE_ITEM)
        assert decision.agenda_item.removed_by == decision

    def test_2023_communique_is_blocked_by_russia_and_the_meeting_has_none(self):
        decision = Decision.objects.get(slug="2023-plenary-communique")
        meeting = decision.meeting
        assert decision.outcome == BLOCKED
        assert decision.explanation["blocked_by"] == ["RU"]
        assert meeting.communique_adopted is False

        # The flag follows the decision, not only the record file: forget both, recompute.
        Meeting.objects.filter(pk=meeting.pk).update(communique_adopted=None)
        Decision.objects.filter(pk=decision.pk).update(outcome=UNDETERMINED, explanation={})
        assert engine.recompute(Decision.objects.filter(pk=decision.pk)) == 1
        meeting.refresh_from_db()
        assert meeting.communique_adopted is False

    def test_2023_item_under_consensus_minus_one_is_undetermined_for_want_of_a_full_record(self):
        decision = Decision.objects.get(slug="2023-plenary-ukraine-item")
        assert not decision.positions_complete
        result = engine.counterfactual(decision, "consensus_minus_one", rules.SILENCE_AS_CONSENT)
        assert result.outcome == UNDETERMINED
        assert "incomplete" in result.explanation["reason"]
        assert decision.counterfactuals["consensus_minus_one:silence_as_consent"] == UNDETERMINED
        assert decision.outcome == BLOCKED  # under consensus one objection is enough

    def test_the_loaded_record_is_current(self):
        assert engine.recompute() == 0


# --- keeping outcomes current, on factory-built data -------------------------------------------


@pytest.fixture
def delegations() -> dict[str, Participant]:
    return {code: ParticipantFactory(code=code) for code in ("AO", "BW", "RU", "UA")}


def item_decision(**kwargs) -> Decision:
    return DecisionFactory(on_agenda_item=True, **{"positions_complete": True, **kwargs})


def agenda_decisions(n: int) -> list[Decision]:
    """`n` decisions on agenda items of one meeting, each with a complete record."""
    meeting = MeetingFactory()
    return [
        item_decision(meeting=meeting, agenda_item=AgendaItemFactory(meeting=meeting))
        for _ in range(n)
    ]


def test_recomputing_again_changes_and_writes_nothing(delegations, django_assert_num_queries):
    for _ in range(3):
        decision = item_decision()
        PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
        PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    Decision.objects.update(outcome=UNDETERMINED, explanation={}, counterfactuals={})

    assert engine.recompute() == 3
    stored = list(Decision.objects.values("outcome", "explanation", "counterfactuals"))
    # SAVEPOINT (recompute is atomic); the stored outcomes; the 7 queries of the tally (listed in
    # the test of `tallies` below); RELEASE SAVEPOINT. No UPDATE: nothing changed.
    with django_assert_num_queries(10) as captured:
        assert engine.recompute() == 0
    writes = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))
    ]
    assert writes == []
    assert list(Decision.objects.values("outcome", "explanation", "counterfactuals")) == stored


def test_withdrawing_the_objection_adopts_the_decision_and_restores_the_item(delegations):
    decision = item_decision()
    objection = PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    decision.refresh_from_db()
    assert (decision.outcome, decision.explanation["blocked_by"]) == (BLOCKED, ["RU"])
    assert decision.agenda_item.removed_by == decision

    objection.stance = SUPPORT  # saved as the admin or the API would: signals recompute
    objection.save()

    decision.refresh_from_db()
    decision.agenda_item.refresh_from_db()
    assert decision.outcome == ADOPTED
    assert decision.agenda_item.removed_by is None
    history = list(objection.history.order_by("history_date").values_list("stance", flat=True))
    assert history == [OBJECTION, SUPPORT]


def test_withdrawing_an_objection_needs_a_complete_record_to_adopt(delegations):
    decision = item_decision(positions_complete=False)
    objection = PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    objection.stance = SUPPORT
    objection.save()
    decision.refresh_from_db()
    assert decision.outcome == UNDETERMINED

    decision.positions_complete = True
    decision.save()
    decision.refresh_from_db()
    assert decision.outcome == ADOPTED


def test_an_item_decided_twice_stays_removed_while_one_decision_blocks_it(delegations):
    item = AgendaItemFactory()
    first, second = (
        item_decision(agenda_item=item, meeting=item.meeting),
        item_decision(agenda_item=item, meeting=item.meeting),
    )
    PositionFactory(decision=first, participant=delegations["RU"], stance=OBJECTION)
    objection = PositionFactory(decision=second, participant=delegations["BW"], stance=OBJECTION)
    item.refresh_from_db()
    assert item.removed_by_id == second.pk

    objection.delete()

    item.refresh_from_db()
    assert item.removed_by_id == first.pk


def test_an_observers_objection_does_not_block(delegations):
    decision = item_decision()
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    PositionFactory(
        decision=decision,
        participant=None,
        observer=ObserverFactory(code="kpcsc"),
        stance=OBJECTION,
    )
    decision.refresh_from_db()
    assert decision.outcome == ADOPTED
    assert decision.explanation["observer_objections"] == ["kpcsc"]
    assert decision.explanation["objections"] == 0
    assert decision.agenda_item.removed_by is None


def test_a_suspended_participant_is_not_counted_and_cannot_block(delegations):
    decision = item_decision()
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    decision.refresh_from_db()
    assert (decision.outcome, decision.explanation["participants_counted"]) == (BLOCKED, 4)

    # Recording the suspension afterwards recomputes the outcome it changes.
    ParticipantStatusFactory(
        participant=delegations["RU"],
        status=ParticipantStatus.Status.SUSPENDED,
        start_date=decision.meeting.start_date - datetime.timedelta(days=30),
    )
    decision.refresh_from_db()
    assert decision.outcome == ADOPTED
    assert decision.explanation["participants_counted"] == 3
    assert decision.explanation["blocked_by"] == []
    assert decision.agenda_item.removed_by is None


def test_a_suspension_over_before_the_meeting_changes_nothing(delegations):
    decision = item_decision()
    ParticipantStatusFactory(
        participant=delegations["RU"],
        status=ParticipantStatus.Status.SUSPENDED,
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2020, 12, 31),
    )
    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    decision.refresh_from_db()
    assert (decision.outcome, decision.explanation["participants_counted"]) == (BLOCKED, 4)


def test_where_attendance_is_recorded_only_attendees_count(delegations):
    decision = item_decision()
    for code in ("AO", "UA"):
        AttendanceFactory(meeting=decision.meeting, participant=delegations[code])
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)  # absent

    decision.refresh_from_db()
    assert decision.outcome == ADOPTED
    assert decision.explanation["electorate"] == "attendance"
    assert decision.explanation["participants_counted"] == 2
    assert decision.explanation["objections"] == 0

    AttendanceFactory(meeting=decision.meeting, participant=delegations["RU"])  # signals recompute
    decision.refresh_from_db()
    assert (decision.outcome, decision.explanation["blocked_by"]) == (BLOCKED, ["RU"])


def test_a_proposals_status_follows_its_decision(delegations):
    decision = DecisionFactory(positions_complete=True)
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    proposal = Proposal.objects.get(pk=decision.proposal_id)
    assert proposal.status == Proposal.Status.ADOPTED

    objection = PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.NOT_ADOPTED

    objection.delete()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ADOPTED


def test_a_withdrawn_proposal_stays_withdrawn(delegations):
    proposal = ProposalFactory(status=Proposal.Status.WITHDRAWN)
    decision = DecisionFactory(proposal=proposal, meeting=MeetingFactory(), positions_complete=True)
    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.WITHDRAWN


def test_a_meetings_communique_follows_its_decision(delegations):
    decision = DecisionFactory(on_communique=True, positions_complete=True)
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    meeting = Meeting.objects.get(pk=decision.meeting_id)
    assert meeting.communique_adopted is True

    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    meeting.refresh_from_db()
    assert meeting.communique_adopted is False


def test_undetermined_outcomes_never_change_a_subject(delegations):
    proposal = ProposalFactory(status=Proposal.Status.PENDING)
    on_proposal = DecisionFactory(proposal=proposal, meeting=MeetingFactory())
    on_item = item_decision(positions_complete=False)
    on_communique = DecisionFactory(on_communique=True, meeting=MeetingFactory())
    Meeting.objects.filter(pk=on_communique.meeting_id).update(communique_adopted=True)
    for decision in (on_proposal, on_item, on_communique):
        PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)

    assert set(Decision.objects.values_list("outcome", flat=True)) == {UNDETERMINED}
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING
    assert AgendaItem.objects.get(pk=on_item.agenda_item_id).removed_by is None
    assert Meeting.objects.get(pk=on_communique.meeting_id).communique_adopted is True
    Meeting.objects.filter(pk=on_communique.meeting_id).update(communique_adopted=None)
    engine.apply_consequences(Decision.objects.all())
    assert Meeting.objects.get(pk=on_communique.meeting_id).communique_adopted is None


def test_a_decision_with_no_date_counts_nobody_and_decides_nothing(delegations):
    # Written procedure with neither a date nor a meeting: nobody's standing can be established.
    decision = DecisionFactory(
        meeting=None,
        method=Decision.Method.WRITTEN_PROCEDURE,
        proposal=ProposalFactory(),
        positions_complete=True,
    )
    PositionFactory(decision=decision, participant=delegations["UA"], stance=SUPPORT)
    PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
    decision.refresh_from_db()
    assert decision.explanation["participants_counted"] == 0
    assert (decision.explanation["supports"], decision.explanation["silent"]) == (0, 0)
    assert set(decision.counterfactuals.values()) == {UNDETERMINED}

    decision.date = datetime.date(2023, 3, 1)
    decision.save()
    decision.refresh_from_db()
    assert (decision.outcome, decision.explanation["participants_counted"]) == (BLOCKED, 4)


def test_tallies_take_a_fixed_number_of_queries(delegations, django_assert_num_queries):
    decisions = agenda_decisions(30)
    observer = ObserverFactory()
    # Written in bulk, without signals: the tally reads the positions as they are.
    Position.objects.bulk_create(
        [Position(decision=d, participant=delegations["UA"], stance=SUPPORT) for d in decisions]
        + [
            Position(decision=d, participant=delegations["RU"], stance=OBJECTION)
            for d in decisions[1::2]
        ]
        + [Position(decision=d, observer=observer, stance=OBJECTION) for d in decisions[::3]]
    )
    tallied = {}
    for size in (3, 30):
        scope = Decision.objects.filter(pk__in=[d.pk for d in decisions[:size]])
        # 1 the decisions with their effective dates; 2 the counts by stance of counted positions;
        # 3 the counted objectors; 4 observers' objections; 5 the parties concerned; 6 attendance
        # per meeting; 7 participants in good standing on the decisions' dates (one date here).
        with django_assert_num_queries(7):
            tallied[size] = engine.tallies(scope)
    assert (len(tallied[3]), len(tallied[30])) == (3, 30)
    assert sum(tally.objections for tally in tallied[30].values()) == 15
    assert sum(len(tally.observer_objectors) for tally in tallied[30].values()) == 10


def test_a_later_joining_date_takes_a_participant_out_of_earlier_decisions():
    decision = DecisionFactory(on_communique=True, positions_complete=True)
    day = decision.meeting.start_date
    objector = ParticipantFactory()
    PositionFactory(decision=decision, participant=objector, stance=Position.Stance.OBJECTION)
    decision.refresh_from_db()
    assert decision.outcome == Decision.Outcome.BLOCKED

    objector.joined_on = day + datetime.timedelta(days=1)
    objector.save()

    decision.refresh_from_db()
    assert objector.code not in decision.explanation["blocked_by"]


def test_clearing_concerned_decisions_from_the_participant_side_recomputes_them():
    decision = DecisionFactory(on_communique=True)
    concerned = ParticipantFactory()
    PositionFactory(decision=decision, participant=concerned, stance=Position.Stance.OBJECTION)
    decision.parties_concerned.add(concerned)
    result = engine.counterfactual(decision, "consensus_minus_parties_concerned", "recorded")
    assert concerned.code not in result.blocked_by

    concerned.decisions_concerning.clear()

    decision.refresh_from_db()
    assert decision.counterfactuals["consensus_minus_parties_concerned:recorded"] == "blocked"


def test_decisions_sharing_a_result_are_written_in_one_update_each_with_its_own(
    delegations, django_assert_num_queries
):
    """The write sends each distinct result once; every decision must still get its own."""
    decisions = agenda_decisions(12)
    observer = ObserverFactory()
    # Four kinds of tally, three decisions each, interleaved so that neighbours differ.
    Position.objects.bulk_create(
        [Position(decision=d, participant=delegations["UA"], stance=SUPPORT) for d in decisions]
        + [
            Position(decision=d, participant=delegations["RU"], stance=OBJECTION)
            for d in decisions[1::4] + decisions[3::4]
        ]
        + [Position(decision=d, observer=observer, stance=OBJECTION) for d in decisions[2::4]]
        + [
            Position(decision=d, participant=delegations["BW"], stance=ABSTENTION)
            for d in decisions[3::4]
        ]
    )
    Decision.objects.update(outcome=UNDETERMINED, explanation={}, counterfactuals={})

    # SAVEPOINT; the stored outcomes; the 7 queries of the tally; one UPDATE of the decisions;
    # one of the record's version (the page cache); the consequences' 5 UPDATEs (removed items,
    # proposals adopted and not adopted, communiques adopted and not); the notifications'
    # receiver of `outcomes_changed` (the decisions, one INSERT of their events); RELEASE
    # SAVEPOINT.
    with django_assert_num_queries(19) as captured:
        assert engine.recompute() == 12
    decision_writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(f"UPDATE {Decision._meta.db_table} ")
    ]
    assert len(decision_writes) == 1

    tallied = engine.tallies(Decision.objects.all())
    for decision in Decision.objects.all():
        record, counterfactuals = engine.evaluate_tally(tallied[decision.pk])
        assert (decision.outcome, decision.explanation, decision.counterfactuals) == (
            record.outcome,
            record.explanation,
            counterfactuals,
        )
    assert {d.outcome for d in Decision.objects.all()} == {ADOPTED, BLOCKED}


def test_deferred_recomputes_once_on_leaving_with_every_change_made_inside(delegations):
    decision = item_decision()
    with engine.deferred():
        PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
        decision.refresh_from_db()
        assert decision.outcome != BLOCKED  # asked for, not yet done
        ParticipantFactory(code="ZZ")  # a whole recompute asked for too
    decision.refresh_from_db()
    decision.agenda_item.refresh_from_db()
    assert (decision.outcome, decision.explanation["blocked_by"]) == (BLOCKED, ["RU"])
    assert decision.agenda_item.removed_by == decision


def test_deferred_recomputes_nothing_when_the_block_fails(delegations):
    decision = item_decision()
    decision.refresh_from_db()
    before = decision.outcome
    with pytest.raises(RuntimeError), transaction.atomic(), engine.deferred():
        PositionFactory(decision=decision, participant=delegations["RU"], stance=OBJECTION)
        raise RuntimeError("the load failed")
    decision.refresh_from_db()
    assert decision.outcome == before
    assert not decision.positions.exists()


def test_loading_the_record_recomputes_once_not_per_row(monkeypatch):
    calls = []
    real = engine._recompute
    monkeypatch.setattr(engine, "_recompute", lambda decisions: calls.append(1) or real(decisions))
    load_record()
    assert len(calls) == 1
    kasane = Decision.objects.get(slug=KASANE_ITEM)
    assert kasane.outcome == BLOCKED and kasane.explanation["blocked_by"] == KASANE_OBJECTORS
