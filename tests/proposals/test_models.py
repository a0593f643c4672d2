import datetime

import pytest
from django.core.exceptions import ValidationError

from proposals.models import Decision, Letter, Position, Quote
from sources.models import DatePrecision
from tests.factories import (
    AgendaItemFactory,
    DecisionFactory,
    LetterFactory,
    MeetingFactory,
    ObserverFactory,
    ParticipantFactory,
    PositionFactory,
    ProposalFactory,
    QuoteFactory,
    ReportedAccountFactory,
    SourceFactory,
)
from tests.integrity import assert_refused

pytestmark = pytest.mark.django_db

BLANK = "This field cannot be blank."
SUBJECT = "decision_subject_matches_kind"
SUBJECT_MESSAGE = "The subject must match its kind"


# Letters, quotes, proposals


def test_letter_slug_is_unique_and_subject_required():
    LetterFactory(slug="2022-05-20-russia")
    assert_refused(LetterFactory.build(slug="2022-05-20-russia"), message="Letter with this Slug")
    assert_refused(
        LetterFactory.build(subject=""), message=BLANK, constraint="letter_subject_not_empty"
    )


def test_quote_without_text_is_refused():
    quote = QuoteFactory.build(letter=LetterFactory(), source=SourceFactory(), text="")
    assert_refused(quote, message=BLANK, constraint="quote_text_not_empty")


def test_proposal_slug_is_unique_and_title_required():
    ProposalFactory(slug="definition-2022")
    assert_refused(ProposalFactory.build(slug="definition-2022"), message="Proposal with this Slug")
    assert_refused(
        ProposalFactory.build(title=""), message=BLANK, constraint="proposal_title_not_empty"
    )


# Decisions: the subject matches its kind


def test_decision_slug_is_unique():
    DecisionFactory(slug="2022-kasane-ukraine-item")
    decision = DecisionFactory.build(
        slug="2022-kasane-ukraine-item", meeting=MeetingFactory(), proposal=ProposalFactory()
    )
    assert_refused(decision, message="Decision with this Slug already exists.")


def test_decision_on_a_proposal_must_name_the_proposal():
    decision = DecisionFactory.build(meeting=MeetingFactory(), proposal=None)
    assert_refused(decision, message=SUBJECT_MESSAGE, constraint=SUBJECT)


def test_decision_on_a_proposal_may_not_also_name_an_agenda_item():
    meeting = MeetingFactory()
    decision = DecisionFactory.build(
        meeting=meeting,
        proposal=ProposalFactory(meeting=meeting),
        agenda_item=AgendaItemFactory(meeting=meeting),
    )
    assert_refused(decision, message=SUBJECT_MESSAGE, constraint=SUBJECT)


def test_decision_on_an_agenda_item_must_name_the_item():
    decision = DecisionFactory.build(
        meeting=MeetingFactory(), subject_kind=Decision.SubjectKind.AGENDA_ITEM, proposal=None
    )
    assert_refused(decision, message=SUBJECT_MESSAGE, constraint=SUBJECT)


def test_decision_on_a_communique_names_its_meeting_and_nothing_else():
    meeting = MeetingFactory()
    without_meeting = DecisionFactory.build(
        on_communique=True, meeting=None, method=Decision.Method.WRITTEN_PROCEDURE
    )
    assert_refused(without_meeting, message=SUBJECT_MESSAGE, constraint=SUBJECT)
    with_item = DecisionFactory.build(
        on_communique=True, meeting=meeting, agenda_item=AgendaItemFactory(meeting=meeting)
    )
    assert_refused(with_item, message=SUBJECT_MESSAGE, constraint=SUBJECT)


def test_decision_taken_at_a_meeting_names_the_meeting():
    decision = DecisionFactory.build(meeting=None, proposal=ProposalFactory())
    assert_refused(
        decision,
        message="A decision taken at a meeting must name the",
        constraint="decision_at_meeting_names_meeting",
    )


def test_decision_by_written_procedure_needs_no_meeting():
    decision = DecisionFactory.build(
        meeting=None, proposal=ProposalFactory(), method=Decision.Method.WRITTEN_PROCEDURE
    )
    decision.full_clean()
    decision.save()


def test_one_communique_decision_per_meeting():
    first = DecisionFactory(on_communique=True)
    assert_refused(
        DecisionFactory.build(on_communique=True, meeting=first.meeting),
        message="This meeting already has a decision on its",
        constraint="decision_one_communique_per_meeting",
    )


def test_decision_on_an_item_of_another_meeting_is_refused():
    decision = DecisionFactory.build(
        on_agenda_item=True, meeting=MeetingFactory(), agenda_item=AgendaItemFactory()
    )
    with pytest.raises(ValidationError, match="another meeting"):
        decision.full_clean()


def test_effective_date_falls_back_to_the_meeting_start():
    dated = DecisionFactory(date=datetime.date(2022, 5, 30))
    undated = DecisionFactory(date=None)
    effective = dict(Decision.objects.values_list("pk", "effective_date"))
    assert effective == {
        dated.pk: datetime.date(2022, 5, 30),
        undated.pk: undated.meeting.start_date,
    }


# Positions


def test_position_held_by_both_a_participant_and_an_observer_is_refused():
    position = PositionFactory.build(
        decision=DecisionFactory(), participant=ParticipantFactory(), observer=ObserverFactory()
    )
    assert_refused(
        position,
        message="A position is held by a participant or by an",
        constraint="position_holder_participant_xor_observer",
    )


def test_position_held_by_nobody_is_refused():
    position = PositionFactory.build(decision=DecisionFactory(), participant=None)
    assert_refused(
        position,
        message="A position is held by a participant or by an",
        constraint="position_holder_participant_xor_observer",
    )


def test_participant_holds_one_position_per_decision():
    first = PositionFactory(stance=Position.Stance.OBJECTION)
    second = PositionFactory.build(
        decision=first.decision, participant=first.participant, stance=Position.Stance.SUPPORT
    )
    assert_refused(
        second,
        message="This participant already has a position on",
        constraint="position_one_per_participant",
    )
    # The same participant on another decision is another position.
    PositionFactory(participant=first.participant)


def test_observer_holds_one_position_per_decision():
    first = PositionFactory(participant=None, observer=ObserverFactory())
    second = PositionFactory.build(
        decision=first.decision, participant=None, observer=first.observer
    )
    assert_refused(
        second,
        message="This observer already has a position on this",
        constraint="position_one_per_observer",
    )


def test_objections_selects_objecting_positions():
    decision = DecisionFactory()
    objection = PositionFactory(decision=decision, stance=Position.Stance.OBJECTION)
    PositionFactory(decision=decision, stance=Position.Stance.SUPPORT)
    PositionFactory(decision=decision, stance=Position.Stance.ABSTENTION)
    assert list(Position.objects.objections()) == [objection]


# What a secretary reads


def test_strs_read_as_a_secretary_would_write_them():
    letter = Letter(
        subject="Objection to the Ukraine item",
        date=datetime.date(2022, 5, 1),
        date_precision=DatePrecision.MONTH,
    )
    assert str(letter) == "Objection to the Ukraine item (May 2022)"
    assert str(Letter(subject="Reply", date=None)) == "Reply (date not known)"
    quote = Quote(text="A political question.", speaker_label="the Russian KP delegate")
    assert str(quote) == "“A political question.” — the Russian KP delegate"

    decision = DecisionFactory(title="Ukraine item on the Kasane agenda")
    assert str(decision) == "Ukraine item on the Kasane agenda"
    assert str(decision.proposal) == decision.proposal.title
    position = PositionFactory(decision=decision, stance=Position.Stance.OBJECTION)
    assert str(position) == f"Objection on decision {decision.pk}"
    assert str(ReportedAccountFactory(decision=decision)) == f"Account of decision {decision.pk}"
