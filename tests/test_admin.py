"""The admin: every registered model opens, lists cost no more queries as they grow, and the
secretariat groups can do what their names say."""

import datetime

import factory
import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from meetings.models import AgendaEntry, AgendaItem, Attendance, Meeting, Session
from participants.models import Chairmanship, Participant
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import RecordVersion
from tests.factories import (
    FACTORIES,
    AgendaEntryFactory,
    AgendaVersionFactory,
    ChairmanshipFactory,
    DecisionFactory,
    MeetingFactory,
    ParticipantFactory,
    PersonFactory,
    PositionFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

RECORD_APPS = {"sources", "participants", "meetings", "proposals"}
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
RECORD_MODELS = [model for model in REGISTERED if model._meta.app_label in RECORD_APPS]

# Optional foreign keys that the lists show, filled so a missing select_related would show as
# queries growing with the rows.
FILLED = {
    AgendaEntry: {"removed": True},
    Letter: {"signatory": factory.SubFactory(PersonFactory)},
    Meeting: {"host": factory.SubFactory(ParticipantFactory)},
    Proposal: {"meeting": factory.SubFactory(MeetingFactory)},
    Session: {"chaired_by": factory.SubFactory(ParticipantFactory)},
}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def label(model) -> str:
    return model._meta.label


def test_every_record_model_is_registered_but_attendance_which_meetings_edit_inline():
    record_models = {
        model
        for model in apps.get_models()
        if model._meta.app_label in RECORD_APPS
        and not hasattr(model, "instance_type")  # (historical models have an instance_type)
        and model is not RecordVersion  # the page cache's bookkeeping, not part of the record
    }
    assert record_models - set(REGISTERED) == {Attendance}


@pytest.mark.parametrize("model", REGISTERED, ids=label)
def test_superuser_opens_every_changelist_and_add_page(admin_client, admin_user, rf, model):
    request = rf.get("/")
    request.user = admin_user
    # Some admins refuse adding by design (rows only the application writes), even to a superuser.
    addable = admin.site._registry[model].has_add_permission(request)

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == (200 if addable else 403)


@pytest.mark.parametrize("model", RECORD_MODELS, ids=label)
def test_superuser_opens_every_record_change_and_history_page(admin_client, model):
    record = FACTORIES[model](**FILLED.get(model, {}))
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", record.pk)).status_code == 200
    assert admin_client.get(admin_url(model, "history", record.pk)).status_code == 200


@pytest.mark.parametrize("model", RECORD_MODELS, ids=label)
def test_changelist_queries_do_not_grow_with_the_rows(admin_client, model):
    make = FACTORIES[model]
    url = admin_url(model, "changelist")

    def queries_for_list_of(rows: int) -> int:
        make.create_batch(rows - model._default_manager.count(), **FILLED.get(model, {}))
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(url)
        assert response.status_code == 200
        assert response.context["cl"].result_count == rows
        return len(captured)

    assert queries_for_list_of(3) == queries_for_list_of(30)


@pytest.mark.parametrize("rows", [3, 30])
def test_chairmanship_changelist_queries(admin_client, django_assert_num_queries, rows):
    ChairmanshipFactory.create_batch(rows)
    # 1. the session, 2. the user, 3. the working bodies for the body filter, 4.-5. the
    # filtered and the total count, 6. the page, chairmanships joined to body, participant and
    # person (their __str__ reads body and participant), 7. the years for the year filter.
    with django_assert_num_queries(7):
        response = admin_client.get(admin_url(Chairmanship, "changelist"))
    assert response.status_code == 200


def test_year_filter_lists_only_that_years_meetings(admin_client):
    kasane = MeetingFactory(start_date=datetime.date(2022, 6, 20))
    MeetingFactory(start_date=datetime.date(2023, 6, 20))
    response = admin_client.get(admin_url(Meeting, "changelist"), {"start_date_year": "2022"})
    assert list(response.context["cl"].result_list) == [kasane]


def test_agenda_item_page_shows_its_status_in_each_version_read_only(admin_client):
    entry = AgendaEntryFactory(removed=True, version__label="Draft agenda")
    AgendaEntryFactory(
        item=entry.item, version=AgendaVersionFactory(meeting=entry.version.meeting, number=2)
    )

    response = admin_client.get(admin_url(AgendaItem, "change", entry.item.pk))

    (history,) = response.context["inline_admin_formsets"]
    assert len(history.formset.forms) == 2
    assert not (history.has_add_permission or history.has_change_permission)
    assert "Removed" in response.content.decode()


def test_decision_outcome_is_shown_but_not_editable(admin_client):
    decision = DecisionFactory()
    response = admin_client.get(admin_url(Decision, "change", decision.pk))
    form = response.context["adminform"].form
    assert {"outcome", "explanation", "counterfactuals"}.isdisjoint(form.fields)
    assert "Undetermined" in response.content.decode()


# The secretariat groups


def test_viewer_can_read_the_record_but_not_add_to_it(viewer_client):
    PositionFactory()
    assert viewer_client.get(admin_url(Position, "changelist")).status_code == 200
    before = Participant.objects.count()

    response = viewer_client.post(admin_url(Participant, "add"), participant_form(SourceFactory()))

    assert response.status_code == 403
    assert Participant.objects.count() == before


def test_editor_can_add_a_participant_and_history_names_the_editor(editor_client):
    source = SourceFactory()

    response = editor_client.post(admin_url(Participant, "add"), participant_form(source))

    assert response.status_code == 302, response.context["adminform"].form.errors
    botswana = Participant.objects.get(code="BW")
    assert list(botswana.sources.all()) == [source]
    assert botswana.history.get().history_user.username == "secretariat-editor"


def test_participant_added_without_a_source_is_refused(editor_client):
    data = participant_form(SourceFactory())
    del data["sources"]

    response = editor_client.post(admin_url(Participant, "add"), data)

    assert response.status_code == 200
    assert "sources" in response.context["adminform"].form.errors
    assert not Participant.objects.filter(code="BW").exists()


def participant_form(source) -> dict:
    return {
        "code": "BW",
        "name": "Botswana",
        "kind": Participant.Kind.STATE,
        "sources": [source.pk],
        # The statuses and roles inlines, empty.
        **{
            f"{prefix}-{field}": value
            for prefix in ("statuses", "roles")
            for field, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
        },
    }
