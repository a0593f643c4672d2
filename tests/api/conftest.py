"""Fixtures of the API tests: token clients for each kind of user, the real record loaded once
per module, and a small generated record of any scale for the query-count tests."""

from __future__ import annotations

import datetime
import string

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kp_tracker.groups import EDITOR_GROUP, VIEWER_GROUP
from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Meeting, Session
from participants.models import Chairmanship, Observer, Participant, Person, Role, WorkingBody
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount
from proposals.record import load_record
from sources.models import Source

KASANE = "2022-intersessional-kasane"


@pytest.fixture(autouse=True)
def _unthrottled(settings):
    """No throttling unless a test asks for it (tests/conftest.py empties the cache, and with it
    the throttle history, around every test)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None},
    }


@pytest.fixture(scope="module")
def kp_record(django_db_setup, django_db_blocker):
    """The real 2022–2024 record, loaded once per test module and rolled back after it.

    Each test's own transaction nests inside this one (as a savepoint), so tests may write
    freely and still see the record untouched.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        load_record()
        yield
        transaction.set_rollback(True)


def token_client(django_user_model, username: str, group: str | None) -> APIClient:
    user = django_user_model.objects.create_user(username=username)
    if group:
        # The groups come from a data migration; a transactional test elsewhere may have
        # flushed them, and only the name matters to the API's permission.
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def anon(db) -> APIClient:
    return APIClient()


@pytest.fixture
def editor(db, django_user_model) -> APIClient:
    """A client with the token of a Secretariat editor."""
    return token_client(django_user_model, "api-editor", EDITOR_GROUP)


@pytest.fixture
def viewer(db, django_user_model) -> APIClient:
    """A client with the token of a Secretariat viewer (may read, not write)."""
    return token_client(django_user_model, "api-viewer", VIEWER_GROUP)


@pytest.fixture
def throttled(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute"},
    }


# --- a generated record of any scale --------------------------------------------------------


def _code(n: int) -> str:
    return "Q" + string.ascii_uppercase[n]


def _cite(model, objects, source) -> None:
    through = model.sources.through
    owner = f"{model._meta.model_name}_id"
    through.objects.bulk_create(
        [through(**{owner: obj.pk, "source_id": source.pk}) for obj in objects]
    )


def build_record(scale: int) -> dict:
    """A record shaped like the real one, `scale` times over: per unit two meetings, each with
    three agenda items in two agenda versions (one item removed by a blocked decision), four
    decisions with seven positions each, two letters, a proposal, a person with a role, a
    session, a chairmanship and a reported account. Written in bulk, outcomes computed once."""
    source = Source.objects.create(
        key="generated", publisher="Tests", title="Generated record", url="https://example.org/"
    )
    participants = Participant.objects.bulk_create(
        [Participant(code=_code(n), name=f"Participant {n}") for n in range(6)]
    )
    observer = Observer.objects.create(code="watch", name="A watchdog")
    _cite(Participant, participants, source)
    _cite(Observer, [observer], source)
    objectors, supporters = participants[:2], participants[2:]

    meetings, items, versions, decisions, letters, proposals = [], [], [], [], [], []
    people, bodies = [], []
    for unit in range(scale):
        year = 2000 + unit
        bodies.append(WorkingBody(slug=f"body-{unit}", name=f"Body {unit}", kind="committee"))
        for half in range(2):
            start = datetime.date(year, 3 + 6 * half, 1)
            meetings.append(
                Meeting(
                    slug=f"{year}-meeting-{half}",
                    kind=Meeting.Kind.PLENARY if half else Meeting.Kind.INTERSESSIONAL,
                    city=f"City {unit}-{half}",
                    start_date=start,
                    end_date=start + datetime.timedelta(days=3),
                    host=participants[2],
                    chair=participants[3],
                )
            )
            people.append(Person(slug=f"person-{unit}-{half}", name=f"Person {unit}-{half}"))
    Meeting.objects.bulk_create(meetings)
    WorkingBody.objects.bulk_create(bodies)
    Person.objects.bulk_create(people)

    for meeting in meetings:
        for n in range(3):
            items.append(
                AgendaItem(meeting=meeting, title=f"Item {n} of {meeting.slug}", description="x")
            )
        for number in (1, 2):
            versions.append(
                AgendaVersion(meeting=meeting, number=number, label=f"Version {number}")
            )
        for n in range(2):
            letters.append(
                Letter(
                    slug=f"{meeting.slug}-letter-{n}",
                    date=meeting.start_date - datetime.timedelta(days=10 + n),
                    subject=f"Objection to the agenda of {meeting.slug}",
                    summary="The item is outside the scope of the scheme.",
                )
            )
    AgendaItem.objects.bulk_create(items)
    AgendaVersion.objects.bulk_create(versions)
    Letter.objects.bulk_create(letters)
    for index, meeting in enumerate(meetings):
        proposals.append(
            Proposal(
                slug=f"{meeting.slug}-proposal",
                title=f"Proposal at {meeting.slug}",
                kind=Proposal.Kind.SCHEME_AMENDMENT,
                meeting=meeting,
                agenda_item=items[3 * index + 2],
            )
        )
    Proposal.objects.bulk_create(proposals)

    for index, meeting in enumerate(meetings):
        removed, kept = items[3 * index], items[3 * index + 1]
        base = {
            "meeting": meeting,
            "method": Decision.Method.MEETING,
            "positions_complete": True,
            # bulk_create bypasses Decision.save(), which would set it (a constraint checks).
            "effective_date": meeting.start_date,
        }
        decisions += [
            Decision(
                slug=f"{meeting.slug}-remove",
                title=f"Keep item 0 of {meeting.slug}",
                subject_kind="agenda_item",
                agenda_item=removed,
                **base,
            ),
            Decision(
                slug=f"{meeting.slug}-keep",
                title=f"Keep item 1 of {meeting.slug}",
                subject_kind="agenda_item",
                agenda_item=kept,
                **base,
            ),
            Decision(
                slug=f"{meeting.slug}-proposal",
                title=f"Adopt the proposal of {meeting.slug}",
                subject_kind="proposal",
                proposal=proposals[index],
                **base,
            ),
            Decision(
                slug=f"{meeting.slug}-communique",
                title=f"Communique of {meeting.slug}",
                subject_kind="communique",
                **base,
            ),
        ]
    Decision.objects.bulk_create(decisions)

    positions, entries, accounts, quotes, roles, sessions, chairs = [], [], [], [], [], [], []
    for index, meeting in enumerate(meetings):
        removal = decisions[4 * index]
        for decision in decisions[4 * index : 4 * index + 4]:
            blocked = decision.subject_kind in ("agenda_item", "communique") and (
                decision is removal or decision.subject_kind == "communique"
            )
            for participant in objectors:
                stance = Position.Stance.OBJECTION if blocked else Position.Stance.SUPPORT
                positions.append(
                    Position(
                        decision=decision,
                        participant=participant,
                        stance=stance,
                        reason="Outside the scope." if blocked else "",
                        letter=letters[2 * index] if blocked else None,
                    )
                )
            for participant in supporters:
                positions.append(
                    Position(decision=decision, participant=participant, stance="support")
                )
            positions.append(Position(decision=decision, observer=observer, stance="objection"))
        accounts.append(ReportedAccount(decision=removal, claim="Names other objectors."))
        draft, final = versions[2 * index], versions[2 * index + 1]
        for order, item in enumerate(items[3 * index : 3 * index + 3], start=1):
            entries.append(AgendaEntry(version=draft, item=item, status="included", order=order))
            gone = item.pk == removal.agenda_item_id
            entries.append(
                AgendaEntry(
                    version=final,
                    item=item,
                    status="removed" if gone else "included",
                    removal_decision=removal if gone else None,
                    order=order,
                )
            )
        quotes.append(
            Quote(letter=letters[2 * index], text="No place here", speaker_label="A", source=source)
        )
        roles.append(
            Role(person=people[index], title="KP delegate", participant=participants[index % 6])
        )
        sessions.append(Session(meeting=meeting, title="Opening", date=meeting.start_date))
    for unit, body in enumerate(bodies):
        chairs.append(
            Chairmanship(
                year=2000 + unit, body=body, participant=participants[2], person=people[2 * unit]
            )
        )
    Position.objects.bulk_create(positions)
    AgendaEntry.objects.bulk_create(entries)
    ReportedAccount.objects.bulk_create(accounts)
    Quote.objects.bulk_create(quotes)
    Role.objects.bulk_create(roles)
    Session.objects.bulk_create(sessions)
    Chairmanship.objects.bulk_create(chairs)

    for model, objects in (
        (Meeting, meetings),
        (AgendaItem, items),
        (AgendaVersion, versions),
        (Letter, letters),
        (Proposal, proposals),
        (Decision, decisions),
        (Position, positions),
        (ReportedAccount, accounts),
        (Person, people),
        (Role, roles),
        (Session, sessions),
        (WorkingBody, bodies),
        (Chairmanship, chairs),
    ):
        _cite(model, objects, source)
    link = AgendaItem.proposers.through
    link.objects.bulk_create(
        [link(agendaitem_id=item.pk, participant_id=supporters[0].pk) for item in items]
    )
    link = Letter.authors.through
    link.objects.bulk_create(
        [link(letter_id=letter.pk, participant_id=objectors[0].pk) for letter in letters]
    )
    link = Proposal.sponsors.through
    link.objects.bulk_create(
        [link(proposal_id=proposal.pk, participant_id=supporters[1].pk) for proposal in proposals]
    )
    link = Proposal.letters.through
    link.objects.bulk_create(
        [
            link(proposal_id=proposal.pk, letter_id=letters[2 * n + 1].pk)
            for n, proposal in enumerate(proposals)
        ]
    )
    link = Decision.parties_concerned.through
    link.objects.bulk_create(
        [link(decision_id=d.pk, participant_id=objectors[0].pk) for d in decisions[::4]]
    )
    link = ReportedAccount.named_objectors.through
    link.objects.bulk_create(
        [
            link(reportedaccount_id=a.pk, participant_id=p.pk)
            for a in accounts
            for p in participants[:3]
        ]
    )
    link = Session.boycotted_by.through
    link.objects.bulk_create(
        [link(session_id=s.pk, participant_id=supporters[2].pk) for s in sessions]
    )
    engine.recompute()
    return {"meetings": meetings, "decisions": decisions, "participants": participants}


@pytest.fixture
def record_of_scale(db):
    """`build_record` itself, for tests that build a record inside their own transaction."""
    return build_record


@pytest.fixture(scope="module", params=[1, 10], ids=["scale-1", "scale-10"])
def scaled_record(request, django_db_setup, django_db_blocker):
    """The generated record at scale 1, then 10, built once each and rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_record(request.param)
        yield request.param
        transaction.set_rollback(True)
