"""Decision.effective_date is stored, so every path that writes a decision or moves a meeting's
first day must keep it: its own date, else its meeting's first day, else none."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from meetings.models import Meeting
from proposals.models import Decision
from tests.admin.formdata import admin_page_data
from tests.api.conftest import EDITOR_GROUP, token_client
from tests.factories import DecisionFactory, MeetingFactory, SourceFactory
from tests.proposals.test_synthetic import TINY_ARGS

pytestmark = pytest.mark.django_db

DAY = datetime.date(2022, 5, 30)


def stale_decisions() -> list[str]:
    """Slugs of decisions whose stored effective date differs from the one computed afresh."""
    first_day = Meeting.objects.filter(pk=OuterRef("meeting_id")).values("start_date")[:1]
    computed = Decision.objects.annotate(computed=Coalesce("date", Subquery(first_day)))
    return list(
        computed.exclude(effective_date=F("computed")).values_list("slug", flat=True)
    ) + list(
        computed.filter(effective_date__isnull=True, computed__isnull=False).values_list(
            "slug", flat=True
        )
    )


def test_save_takes_the_decisions_own_date_else_its_meetings_first_day():
    dated = DecisionFactory(date=DAY)
    undated = DecisionFactory(date=None)
    assert dated.effective_date == DAY
    assert undated.effective_date == undated.meeting.start_date
    assert stale_decisions() == []


def test_a_decision_with_neither_date_nor_meeting_has_no_effective_date():
    decision = DecisionFactory(date=None, meeting=None, method=Decision.Method.WRITTEN_PROCEDURE)
    decision.refresh_from_db()
    assert decision.effective_date is None


def test_save_with_update_fields_naming_the_date_writes_the_effective_date_too():
    decision = DecisionFactory(date=None)
    decision.date = DAY
    decision.save(update_fields=["date"])
    decision.refresh_from_db()
    assert decision.effective_date == DAY


def test_moving_a_meetings_first_day_moves_its_undated_decisions_only():
    meeting = MeetingFactory(start_date=datetime.date(2022, 6, 20), end_date=DAY.replace(month=7))
    undated = DecisionFactory(meeting=meeting, date=None)
    dated = DecisionFactory(meeting=meeting, date=DAY)
    meeting = Meeting.objects.get(pk=meeting.pk)
    meeting.start_date = datetime.date(2022, 6, 21)
    meeting.save()
    undated.refresh_from_db()
    dated.refresh_from_db()
    assert undated.effective_date == datetime.date(2022, 6, 21)
    assert dated.effective_date == DAY


def test_saving_a_meeting_without_moving_its_first_day_touches_no_decision():
    meeting = Meeting.objects.get(pk=DecisionFactory(date=None).meeting_id)
    meeting.title = "Renamed"
    with CaptureQueriesContext(connection) as queries:
        meeting.save()
    assert not [q["sql"] for q in queries if "proposals_decision" in q["sql"]]


def test_moving_a_decision_to_another_meeting_takes_that_meetings_first_day():
    decision = DecisionFactory(date=None)
    other = MeetingFactory(start_date=datetime.date(2019, 11, 18))
    decision.meeting = other
    decision.proposal.meeting = other
    decision.proposal.save()
    decision.save()
    decision.refresh_from_db()
    assert decision.effective_date == datetime.date(2019, 11, 18)


def test_full_clean_checks_the_effective_date_it_is_about_to_save():
    decision = DecisionFactory(date=None)
    decision.date = DAY
    decision.full_clean()  # the stored value is stale until clean() recomputes it
    assert decision.effective_date == DAY


def test_the_database_refuses_an_effective_date_other_than_the_decisions_own_date():
    decision = DecisionFactory(date=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(effective_date=DAY.replace(day=1))


def test_the_database_refuses_an_effective_date_without_date_or_meeting():
    decision = DecisionFactory(date=None, meeting=None, method=Decision.Method.WRITTEN_PROCEDURE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(effective_date=DAY)


def test_refresh_effective_dates_repairs_rows_written_around_save():
    decision = DecisionFactory(date=None)
    Meeting.objects.filter(pk=decision.meeting_id).update(start_date=datetime.date(2001, 1, 1))
    assert stale_decisions() == [decision.slug]
    Decision.objects.all().refresh_effective_dates()
    assert stale_decisions() == []


def test_the_admin_keeps_the_effective_date(admin_client):
    decision = DecisionFactory(date=None)
    url = reverse("admin:proposals_decision_change", args=[decision.pk])
    data = admin_page_data(admin_client.get(url))
    data["date"] = DAY.isoformat()
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    decision.refresh_from_db()
    assert decision.effective_date == DAY


def test_the_api_keeps_the_effective_date(django_user_model):
    editor = token_client(django_user_model, "api-editor", EDITOR_GROUP)
    decision = DecisionFactory(date=None, on_communique=True)
    source = SourceFactory()
    response = editor.patch(
        f"/api/v1/decisions/{decision.slug}/", {"date": DAY.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["effective_date"] == DAY.isoformat()
    response = editor.post(
        "/api/v1/decisions/",
        {
            "slug": "undated-communique",
            "title": "Adopt the communique",
            "subject_kind": "communique",
            "meeting": MeetingFactory(start_date=datetime.date(2020, 3, 2)).slug,
            "sources": [source.key],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["effective_date"] == "2020-03-02"
    assert stale_decisions() == []


def test_the_record_loader_keeps_the_effective_date():
    call_command("load_kp_record", verbosity=0)
    assert Decision.objects.filter(effective_date__isnull=False).exists()
    assert stale_decisions() == []


def test_the_synthetic_record_sets_the_effective_date_around_bulk_create():
    call_command("generate_synthetic_record", *TINY_ARGS, verbosity=0)
    assert Decision.objects.filter(effective_date__isnull=False).count() == 40
    assert stale_decisions() == []
