"""Which changes to the record become events, written in the change's own transaction."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import services
from notifications.models import Delivery, Event, Subscription
from proposals.models import Decision, Position
from tests.factories import (
    AgendaItemFactory,
    AttendanceFactory,
    DecisionFactory,
    LetterFactory,
    MeetingFactory,
    ParticipantFactory,
    PositionFactory,
)

pytestmark = pytest.mark.django_db

Kind = Event.Kind


def kinds() -> list[str]:
    return sorted(Event.objects.values_list("kind", flat=True))


def test_scheduling_a_meeting_is_an_event_fanned_out_only_after_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        meeting = MeetingFactory(city="Kasane")
        assert Event.objects.get().kind == Kind.MEETING_SCHEDULED  # inside the transaction
    assert len(callbacks) == 1
    event = Event.objects.get()
    assert event.meeting == meeting
    assert (
        event.payload["summary"]
        == "Meeting scheduled: 2022 intersessional, Kasane, 20–24 June 2022"
    )


def test_moving_a_meeting_records_old_and_new_dates_and_other_edits_record_nothing():
    meeting = MeetingFactory()
    Event.objects.all().delete()

    meeting.summary = "Held under heavy security."
    meeting.save()
    assert kinds() == []

    meeting.end_date = datetime.date(2022, 6, 25)
    meeting.save()
    event = Event.objects.get()
    assert event.kind == Kind.MEETING_DATES_CHANGED
    assert event.payload["old_dates"] == {"start_date": "2022-06-20", "end_date": "2022-06-24"}
    assert event.payload["meeting"]["end_date"] == "2022-06-25"


def test_adding_an_agenda_item_is_an_event_about_its_meeting():
    item = AgendaItemFactory(title="Conflict diamonds and Ukraine")
    event = Event.objects.get(kind=Kind.AGENDA_ITEM_ADDED)
    assert (event.meeting_id, event.agenda_item_id) == (item.meeting_id, item.pk)
    assert event.payload["summary"].endswith(": Conflict diamonds and Ukraine")


def test_a_new_decision_is_one_event_carrying_its_first_outcome():
    attendance = AttendanceFactory()
    # Every objection on record, and there is none: adopted as soon as it is saved.
    decision = DecisionFactory(meeting=attendance.meeting, positions_complete=True)
    decision.refresh_from_db()
    assert decision.outcome == Decision.Outcome.ADOPTED
    event = Event.objects.get(decision=decision)
    assert event.kind == Kind.DECISION_RECORDED
    assert event.payload["decision"]["outcome"] == "adopted"


def test_an_objection_is_recorded_once_however_often_its_position_is_saved():
    decision = DecisionFactory()
    objector = ParticipantFactory()
    position = PositionFactory(decision=decision, participant=objector, stance="objection")
    position.reason = "Outside the mandate."
    position.save()
    objections = Event.objects.filter(kind=Kind.OBJECTION_RECORDED)
    assert objections.count() == 1
    assert objections.get().participant == objector

    support = PositionFactory(decision=decision, stance="support")
    support.stance = Position.Stance.OBJECTION
    support.save()  # support turned objection: news
    assert objections.count() == 2


def test_an_objection_that_blocks_an_agenda_item_records_its_removal_and_restoration():
    decision = DecisionFactory(on_agenda_item=True)
    Event.objects.all().delete()

    position = PositionFactory(decision=decision, stance="objection")
    assert kinds() == [Kind.AGENDA_ITEM_REMOVED, Kind.OUTCOME_CHANGED, Kind.OBJECTION_RECORDED]
    moved = Event.objects.get(kind=Kind.OUTCOME_CHANGED)
    assert moved.payload["outcome_change"] == {"old": "undetermined", "new": "blocked"}
    removed = Event.objects.get(kind=Kind.AGENDA_ITEM_REMOVED)
    assert removed.agenda_item_id == decision.agenda_item_id

    Event.objects.all().delete()
    position.delete()
    assert kinds() == [Kind.AGENDA_ITEM_RESTORED, Kind.OUTCOME_CHANGED]


def test_letter_authors_added_after_the_letter_are_the_participants_it_concerns():
    author = ParticipantFactory()
    follows = Subscription.objects.create(
        email="a@example.org", confirmed_at=timezone.now(), target="participant", participant=author
    )
    letter = LetterFactory()
    letter.authors.add(author)  # the admin saves many-to-many fields after the row

    event = Event.objects.get(kind=Kind.LETTER_ADDED)
    services.fan_out(event_id=event.pk)
    assert list(event.participants.all()) == [author]
    assert Delivery.objects.get(event=event).subscription == follows


def test_meetings_starting_within_a_week_are_announced_once():
    today = datetime.date(2030, 6, 13)
    soon = MeetingFactory(start_date=datetime.date(2030, 6, 20))
    later = MeetingFactory(start_date=datetime.date(2030, 6, 21))  # 8 days off
    MeetingFactory(start_date=today)  # already started

    (event,) = services.record_upcoming_meetings(today=today)
    assert (event.kind, event.meeting) == (Kind.MEETING_UPCOMING, soon)
    assert event.payload["days_until_start"] == 7
    assert services.record_upcoming_meetings(today=today) == []
    (tomorrow,) = services.record_upcoming_meetings(today=today + datetime.timedelta(days=1))
    assert tomorrow.meeting == later


def test_a_rolled_back_edit_leaves_no_event():
    with pytest.raises(RuntimeError), transaction.atomic():
        MeetingFactory()
        raise RuntimeError
    assert not Event.objects.exists()
