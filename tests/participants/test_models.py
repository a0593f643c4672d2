import datetime

import pytest

from participants.models import Chairmanship, Participant, ParticipantStatus, Role
from tests.factories import (
    ChairmanshipFactory,
    ObserverFactory,
    ParticipantFactory,
    ParticipantStatusFactory,
    PersonFactory,
    RoleFactory,
    WorkingBodyFactory,
)
from tests.integrity import assert_refused

pytestmark = pytest.mark.django_db

BLANK = "This field cannot be blank."
DAY = datetime.date(2022, 6, 20)


# Participants


@pytest.mark.parametrize("code", ["ru", "R1", "r"])
def test_participant_code_must_be_two_capital_letters(code):
    assert_refused(
        ParticipantFactory.build(code=code),
        message="The code must be two capital letters (ISO",
        constraint="participant_code_iso_alpha2",
    )


def test_participant_code_is_unique():
    ParticipantFactory(code="RU")
    assert_refused(
        ParticipantFactory.build(code="RU"), message="Participant with this Code already exists."
    )


def test_participant_name_is_unique():
    ParticipantFactory(name="Botswana")
    assert_refused(
        ParticipantFactory.build(name="Botswana"),
        message="Participant with this Name already exists.",
    )


def test_participant_without_name_is_refused():
    assert_refused(
        ParticipantFactory.build(name=""), message=BLANK, constraint="participant_name_not_empty"
    )


def test_participant_status_ending_before_it_starts_is_refused():
    status = ParticipantStatusFactory.build(
        participant=ParticipantFactory(),
        start_date=datetime.date(2022, 6, 1),
        end_date=datetime.date(2022, 5, 31),
    )
    assert_refused(
        status,
        message="The status cannot end before it",
        constraint="participant_status_end_after_start",
    )


def test_participant_status_with_no_known_start_may_have_an_end():
    status = ParticipantStatusFactory.build(
        participant=ParticipantFactory(), start_date=None, end_date=datetime.date(2022, 5, 31)
    )
    status.full_clean()
    status.save()


# Who is in good standing


def status(participant: Participant, kind: str, start=None, end=None) -> None:
    ParticipantStatusFactory(participant=participant, status=kind, start_date=start, end_date=end)


def test_in_good_standing_on_excludes_suspended_withdrawn_and_not_yet_joined():
    Status = ParticipantStatus.Status
    active = ParticipantFactory(name="Active, no status on record")
    joined = ParticipantFactory(name="Joined before", joined_on=datetime.date(2003, 1, 1))
    embargoed = ParticipantFactory(name="Under partial embargo")
    status(embargoed, Status.PARTIAL_EMBARGO, start=datetime.date(2016, 1, 1))
    reinstated = ParticipantFactory(name="Suspended, later reinstated")
    status(reinstated, Status.SUSPENDED, datetime.date(2013, 5, 1), datetime.date(2016, 7, 1))
    suspended = ParticipantFactory(name="Suspended")
    status(suspended, Status.SUSPENDED, start=datetime.date(2022, 1, 1))
    suspended_since_unknown = ParticipantFactory(name="Suspended, start unknown")
    status(suspended_since_unknown, Status.SUSPENDED)
    withdrawn = ParticipantFactory(name="Withdrawn")
    status(withdrawn, Status.WITHDRAWN, start=datetime.date(2020, 1, 1))
    ParticipantFactory(name="Joins later", joined_on=DAY + datetime.timedelta(days=1))
    suspended_later = ParticipantFactory(name="Suspended only later")
    status(suspended_later, Status.SUSPENDED, start=DAY + datetime.timedelta(days=1))

    assert set(Participant.objects.in_good_standing_on(DAY)) == {
        active,
        joined,
        embargoed,
        reinstated,
        suspended_later,
    }


def test_participant_joining_on_the_day_is_in_good_standing_that_day():
    joiner = ParticipantFactory(joined_on=DAY)
    assert list(Participant.objects.in_good_standing_on(DAY)) == [joiner]


# Observers, people, roles, bodies


def test_observer_code_and_name_are_unique():
    ObserverFactory(code="kpcsc", name="KP Civil Society Coalition")
    assert_refused(ObserverFactory.build(code="kpcsc"), message="Observer with this Code")
    assert_refused(
        ObserverFactory.build(name="KP Civil Society Coalition"), message="Observer with this Name"
    )


def test_observer_without_name_is_refused():
    assert_refused(
        ObserverFactory.build(name=""), message=BLANK, constraint="observer_name_not_empty"
    )


def test_person_slug_is_unique_and_name_required():
    PersonFactory(slug="ahmed-bin-sulayem")
    assert_refused(PersonFactory.build(slug="ahmed-bin-sulayem"), message="Person with this Slug")
    assert_refused(PersonFactory.build(name=""), message=BLANK, constraint="person_name_not_empty")


def test_role_for_both_a_participant_and_an_observer_is_refused():
    role = RoleFactory.build(
        person=PersonFactory(), participant=ParticipantFactory(), observer=ObserverFactory()
    )
    assert_refused(
        role,
        message="A role speaks for a participant or for an",
        constraint="role_for_participant_or_observer_not_both",
    )


def test_role_ending_before_it_starts_is_refused():
    role = RoleFactory.build(
        person=PersonFactory(),
        participant=ParticipantFactory(),
        start_date=datetime.date(2022, 1, 1),
        end_date=datetime.date(2021, 12, 31),
    )
    assert_refused(role, message="The role cannot end before it", constraint="role_end_after_start")


def test_working_body_slug_and_name_are_unique():
    WorkingBodyFactory(slug="wgm", name="Working Group on Monitoring")
    assert_refused(WorkingBodyFactory.build(slug="wgm"), message="Working body with this Slug")
    assert_refused(
        WorkingBodyFactory.build(name="Working Group on Monitoring"),
        message="Working body with this Name",
    )


# Chairmanships


def test_one_chair_per_working_body_and_year():
    first = ChairmanshipFactory(year=2022)
    second = ChairmanshipFactory.build(
        year=2022, body=first.body, participant=ParticipantFactory(), person=None
    )
    assert_refused(
        second,
        message="This body already has a chair",
        constraint="chairmanship_one_per_body_year",
    )


def test_one_kp_chair_per_year():
    ChairmanshipFactory(year=2022, body=None)
    second = ChairmanshipFactory.build(
        year=2022, body=None, participant=ParticipantFactory(), person=None
    )
    assert_refused(
        second,
        message="The KP already has a chair (or vice-chair)",
        constraint="chairmanship_one_kp_chair_per_year",
    )


def test_kp_chair_and_vice_chair_in_the_same_year_are_accepted():
    ChairmanshipFactory(year=2022, body=None)
    vice = ChairmanshipFactory.build(
        year=2022, body=None, vice=True, participant=ParticipantFactory(), person=None
    )
    vice.full_clean()
    vice.save()


@pytest.mark.parametrize("year", [1999, 2101])
def test_chairmanship_year_must_be_plausible(year):
    chair = ChairmanshipFactory.build(
        year=year, body=None, participant=ParticipantFactory(), person=None
    )
    assert_refused(
        chair,
        message="The year must lie between 2000 and",
        constraint="chairmanship_year_plausible",
    )


# What a secretary reads


def test_strs_read_as_a_secretary_would_write_them(django_assert_num_queries):
    botswana = ParticipantFactory(name="Botswana", code="BW")
    car = ParticipantFactory(name="Central African Republic", code="CF")
    ParticipantStatusFactory(participant=car, status=ParticipantStatus.Status.PARTIAL_EMBARGO)
    person = PersonFactory(name="Jacob Thamage")
    RoleFactory(person=person, participant=botswana, title="KP Chair")
    ChairmanshipFactory(year=2022, body=None, participant=botswana, person=person)
    ChairmanshipFactory(
        year=2023,
        vice=True,
        body=WorkingBodyFactory(name="Working Group on Monitoring"),
        participant=car,
    )

    # Loaded the way the admin lists load them, the strs cost no query.
    statuses = list(ParticipantStatus.objects.select_related("participant"))
    roles = list(Role.objects.select_related("person"))
    chairs = list(Chairmanship.objects.select_related("body", "participant"))
    with django_assert_num_queries(0):
        assert str(botswana) == "Botswana (BW)"
        assert [str(s) for s in statuses] == ["CF: Under partial embargo"]
        assert [str(r) for r in roles] == ["Jacob Thamage, KP Chair"]
        assert [str(c) for c in chairs] == [
            "2023: Vice-chair of Working Group on Monitoring, Central African Republic",
            "2022: Chair of the KP, Botswana",
        ]
        assert str(person) == "Jacob Thamage"
