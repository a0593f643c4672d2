"""Fixtures of the admin tests: a second editor, and a meeting ready for a decision."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client

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
