"""Fixtures of the admin tests: a second editor, a meeting ready for a decision, and the live
server of the browser tests.

Playwright's sync API leaves an event loop running in the test process, after which Django
refuses ORM calls from "async" code unless told otherwise (../shared/RECIPES.md): set before any
browser starts, for the whole run.
"""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from kp_tracker.groups import EDITOR_GROUP
from tests.factories import (
    AgendaItemFactory,
    MeetingFactory,
    ObserverFactory,
    ParticipantFactory,
    SourceFactory,
)


@pytest.fixture
def second_editor_client(db, django_user_model) -> Client:
    """Another Secretariat editor, for two people editing the same record."""
    user = django_user_model.objects.create_user(username="second-editor", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITOR_GROUP))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def kasane(db):
    """A meeting with no recorded attendance, six participants in good standing, an observer,
    and an agenda item to decide on."""
    meeting = MeetingFactory(
        slug="2022-intersessional-kasane",
        city="Kasane",
        start_date=datetime.date(2022, 6, 20),
        end_date=datetime.date(2022, 6, 24),
    )
    participants = [
        ParticipantFactory(code=code, name=name)
        for code, name in [
            ("RU", "Russia"),
            ("BY", "Belarus"),
            ("UA", "Ukraine"),
            ("EU", "European Union"),
            ("BW", "Botswana"),
            ("CA", "Canada"),
        ]
    ]
    observer = ObserverFactory(code="kpcsc", name="KP Civil Society Coalition")
    item = AgendaItemFactory(meeting=meeting, title="Russia's invasion of Ukraine")
    return {
        "meeting": meeting,
        "participants": {p.code: p for p in participants},
        "observer": observer,
        "item": item,
        "source": SourceFactory(key="reuters-2022-06-16"),
    }


@pytest.fixture(scope="session")
def _whitenoise_autorefresh():
    # As tests/conftest.py does per test, but before the session's live server builds its
    # middleware: WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet.
    with override_settings(WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(scope="session")
def live_server(_whitenoise_autorefresh, live_server):
    return live_server
