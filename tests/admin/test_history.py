"""The audit trail: every record keeps who changed what and when, with the previous values,
shown in the admin and restorable there (by an editor, never by a viewer)."""

import pytest
from django.apps import apps
from django.urls import reverse

from meetings.models import Attendance
from participants.models import Participant
from sources.models import RecordVersion
from tests.admin.formdata import admin_page_data
from tests.factories import AttendanceFactory, ParticipantFactory, QuoteFactory, SourceFactory

pytestmark = pytest.mark.django_db

RECORD_APPS = {"sources", "participants", "meetings", "proposals"}


def url(name: str, *args) -> str:
    return reverse(f"admin:participants_participant_{name}", args=args)


def rename(client, participant, name: str):
    data = admin_page_data(client.get(url("change", participant.pk)))
    data["name"] = name
    response = client.post(url("change", participant.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors


@pytest.mark.parametrize(
    "model",
    [
        model
        for model in apps.get_models()
        if model._meta.app_label in RECORD_APPS
        and not hasattr(model, "instance_type")  # a historical model itself
        and not model._meta.auto_created  # a many-to-many table
        and model is not RecordVersion  # the page cache's bookkeeping, not part of the record
    ],
    ids=lambda model: model._meta.label,
)
def test_every_record_model_keeps_history(model):
    assert hasattr(model, "history"), f"{model._meta.label} keeps no history"


def test_through_rows_and_sources_keep_history_too():
    attendance = AttendanceFactory()
    quote = QuoteFactory()
    source = SourceFactory()
    assert Attendance.history.filter(id=attendance.pk).exists()
    assert quote.history.count() == source.history.count() == 1


def test_history_page_shows_who_changed_what_and_the_previous_value(editor_client, viewer_client):
    participant = ParticipantFactory(name="Botswana")
    rename(editor_client, participant, "Republic of Botswana")

    response = viewer_client.get(url("history", participant.pk))

    assert response.status_code == 200
    content = response.content.decode()
    assert "secretariat-editor" in content
    latest = response.context["page_obj"].object_list[0]
    assert [(c["field"], c["old"], c["new"]) for c in latest.history_delta_changes] == [
        ("Name", "Botswana", "Republic of Botswana")
    ]  # the revision, raised by every save, is not listed as a change
    assert latest.revision == 2
    assert "Botswana" in content and "Republic of Botswana" in content


def test_editor_restores_a_previous_version(editor_client):
    participant = ParticipantFactory(name="Botswana")
    rename(editor_client, participant, "Botwsana")
    original = participant.history.earliest()
    revert_url = url("simple_history", participant.pk, original.history_id)

    page = editor_client.get(revert_url)
    assert page.status_code == 200
    assert page.context["adminform"].form["name"].value() == "Botswana"
    response = editor_client.post(revert_url, admin_page_data(page))

    assert response.status_code == 302, response.context["adminform"].form.errors
    participant.refresh_from_db()
    assert (participant.name, participant.lock_version) == ("Botswana", 3)
    restored = participant.history.latest()
    assert restored.history_user.username == "secretariat-editor"
    assert restored.history_type == "~"


def test_restoring_over_a_change_made_meanwhile_is_refused(editor_client, second_editor_client):
    participant = ParticipantFactory(name="Botswana")
    rename(editor_client, participant, "Botwsana")
    revert_url = url("simple_history", participant.pk, participant.history.earliest().history_id)
    page = editor_client.get(revert_url)

    rename(second_editor_client, participant, "Republic of Botswana")
    response = editor_client.post(revert_url, admin_page_data(page))

    assert response.status_code == 200
    (change,) = response.context["adminform"].form.conflict
    assert (change.when_opened, change.now, change.yours) == (
        "Botwsana",
        "Republic of Botswana",
        "Botswana",
    )
    assert Participant.objects.get().name == "Republic of Botswana"


def test_viewer_sees_history_but_cannot_restore(viewer_client, editor_client):
    participant = ParticipantFactory(name="Botswana")
    rename(editor_client, participant, "Botwsana")
    revert_url = url("simple_history", participant.pk, participant.history.earliest().history_id)
    page = viewer_client.get(revert_url)
    assert page.status_code == 200
    assert page.context["revert_disabled"]  # no revert button

    response = viewer_client.post(revert_url, admin_page_data(editor_client.get(revert_url)))

    assert response.status_code == 403
    assert Participant.objects.get().name == "Botwsana"
