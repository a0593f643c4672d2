import datetime

import pytest
from django.core.exceptions import ValidationError

from meetings.models import AgendaEntry, Meeting
from tests.factories import (
    AgendaEntryFactory,
    AgendaItemFactory,
    AgendaVersionFactory,
    AttendanceFactory,
    DecisionFactory,
    MeetingFactory,
    SessionFactory,
)
from tests.integrity import assert_refused

pytestmark = pytest.mark.django_db

BLANK = "This field cannot be blank."


# Meetings


def test_meeting_slug_is_unique():
    MeetingFactory(slug="2022-intersessional-kasane")
    assert_refused(
        MeetingFactory.build(slug="2022-intersessional-kasane"),
        message="Meeting with this Slug already exists.",
    )


def test_meeting_without_slug_is_refused():
    assert_refused(
        MeetingFactory.build(slug=""), message=BLANK, constraint="meeting_slug_not_empty"
    )


def test_meeting_ending_before_it_starts_is_refused():
    meeting = MeetingFactory.build(
        start_date=datetime.date(2022, 6, 20), end_date=datetime.date(2022, 6, 19)
    )
    assert_refused(
        meeting, message="The meeting cannot end before it", constraint="meeting_end_after_start"
    )


def test_meeting_moved_to_end_before_it_starts_is_refused_and_left_as_it_was():
    meeting = MeetingFactory(start_date=datetime.date(2022, 6, 20))
    meeting.end_date = datetime.date(2022, 6, 1)
    assert_refused(
        meeting, message="The meeting cannot end before it", constraint="meeting_end_after_start"
    )
    meeting.refresh_from_db()
    assert meeting.end_date == datetime.date(2022, 6, 24)


def test_one_day_meeting_is_accepted():
    meeting = MeetingFactory.build(
        start_date=datetime.date(2023, 3, 1), end_date=datetime.date(2023, 3, 1)
    )
    meeting.full_clean()
    meeting.save()


def test_in_year_selects_meetings_by_their_first_day():
    kasane = MeetingFactory(start_date=datetime.date(2022, 6, 20))
    MeetingFactory(start_date=datetime.date(2023, 6, 20))
    assert list(Meeting.objects.in_year(2022)) == [kasane]


def test_participant_attends_a_meeting_once():
    attendance = AttendanceFactory()
    assert_refused(
        AttendanceFactory.build(meeting=attendance.meeting, participant=attendance.participant),
        message="already recorded as attending",
        constraint="attendance_one_per_participant",
    )


# Agenda versions and items


def test_agenda_version_number_is_unique_per_meeting():
    first = AgendaVersionFactory(number=1)
    assert_refused(
        AgendaVersionFactory.build(meeting=first.meeting, number=1),
        message="already has an agenda version with that number",
        constraint="agenda_version_number_unique",
    )
    AgendaVersionFactory(number=1)  # another meeting's first version


def test_agenda_version_numbers_start_at_one():
    assert_refused(
        AgendaVersionFactory.build(meeting=MeetingFactory(), number=0),
        message="Agenda versions are numbered from",
        constraint="agenda_version_number_positive",
    )


def test_agenda_item_title_is_unique_per_meeting():
    item = AgendaItemFactory(title="Ukraine")
    assert_refused(
        AgendaItemFactory.build(meeting=item.meeting, title="Ukraine"),
        message="already has an agenda item with that title",
        constraint="agenda_item_title_unique",
    )


def test_agenda_item_without_title_is_refused():
    item = AgendaItemFactory.build(meeting=MeetingFactory(), title="")
    assert_refused(item, message=BLANK, constraint="agenda_item_title_not_empty")


def test_agenda_item_time_slot_must_be_positive():
    item = AgendaItemFactory.build(meeting=MeetingFactory(), time_slot_minutes=0)
    assert_refused(
        item,
        message="A time slot must be longer than zero",
        constraint="agenda_item_time_slot_positive",
    )


# Agenda entries: an item's status in one version


def test_item_appears_once_per_agenda_version():
    entry = AgendaEntryFactory()
    assert_refused(
        AgendaEntryFactory.build(version=entry.version, item=entry.item),
        message="already appears in this agenda version",
        constraint="agenda_entry_one_per_version",
    )


def test_removed_entry_without_a_removal_decision_is_refused():
    entry = AgendaEntryFactory.build(
        version=AgendaVersionFactory(), status=AgendaEntry.Status.REMOVED, removal_decision=None
    )
    entry.item = AgendaItemFactory(meeting=entry.version.meeting)
    assert_refused(
        entry,
        message="A removed item must name the decision whose",
        constraint="agenda_entry_removal_has_decision",
    )


def test_removal_decision_on_an_entry_that_stayed_is_refused():
    item = AgendaItemFactory()
    entry = AgendaEntryFactory.build(
        version=AgendaVersionFactory(meeting=item.meeting),
        item=item,
        status=AgendaEntry.Status.INCLUDED,
        removal_decision=DecisionFactory(
            on_agenda_item=True, agenda_item=item, meeting=item.meeting
        ),
    )
    assert_refused(
        entry,
        message="Only a removed item names a removal",
        constraint="agenda_entry_decision_only_when_removed",
    )


def test_removed_entry_with_its_decision_is_accepted():
    entry = AgendaEntryFactory(removed=True)
    entry.full_clean()
    assert entry.removal_decision.agenda_item == entry.item


def test_entry_for_an_item_of_another_meeting_is_refused():
    entry = AgendaEntryFactory.build(version=AgendaVersionFactory(), item=AgendaItemFactory())
    with pytest.raises(ValidationError, match="another meeting"):
        entry.full_clean()


# Sessions


def test_session_title_is_unique_per_meeting():
    session = SessionFactory(title="Opening session")
    assert_refused(
        SessionFactory.build(meeting=session.meeting, title="Opening session"),
        message="already has a session with that title",
        constraint="session_title_unique",
    )


# What a secretary reads


@pytest.mark.parametrize(
    ("city", "country", "shown"),
    [
        ("Kasane", "Botswana", "2022 intersessional, Kasane"),
        ("", "Botswana", "2022 intersessional, Botswana"),
        ("", "", "2022 intersessional"),
    ],
)
def test_meeting_str_names_year_kind_and_place(city, country, shown):
    meeting = Meeting(
        kind=Meeting.Kind.INTERSESSIONAL,
        city=city,
        country=country,
        start_date=datetime.date(2022, 6, 20),
    )
    assert str(meeting) == shown


def test_agenda_strs(django_assert_num_queries):
    version = AgendaVersionFactory(label="Draft agenda", number=2, dated=datetime.date(2022, 5, 9))
    undated = AgendaVersionFactory(label="Agenda as adopted", number=3, dated=None)
    entry = AgendaEntryFactory(version=version, item__title="Ukraine", removed=True)
    session = SessionFactory(title="Opening session")

    entry = AgendaEntry.objects.select_related("item").get(pk=entry.pk)
    with django_assert_num_queries(0):
        assert str(version) == "Draft agenda of 9 May 2022 (v2)"
        assert str(undated) == "Agenda as adopted (v3)"
        assert str(entry) == "Ukraine: Removed"
        assert str(entry.item) == "Ukraine"
        assert str(session) == "Opening session"
