"""Agenda versions: the next draft copied from one version, and the difference between two."""

import pytest
from django.urls import reverse

from meetings.models import AgendaEntry, AgendaVersion
from meetings.services import agenda_version_copy, agenda_version_diff
from tests.factories import AgendaEntryFactory, AgendaItemFactory, AgendaVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    """Version 1 of a meeting's agenda: three items, one with a time slot of its own."""
    version = AgendaVersionFactory(number=1, label="Draft agenda")
    meeting = version.meeting
    for order, (title, slot) in enumerate(
        [("Opening", None), ("Ukraine", 60), ("Budget", None)], start=1
    ):
        item = AgendaItemFactory(meeting=meeting, title=title, time_slot_minutes=slot)
        AgendaEntryFactory(version=version, item=item, order=order)
    return version


def entries(version) -> list[tuple]:
    return list(
        version.entries.order_by("order").values_list(
            "item__title", "status", "order", "time_slot_minutes", "note"
        )
    )


def test_copy_makes_the_next_version_with_every_entry(draft, editor_client):
    AgendaVersionFactory(meeting=draft.meeting, number=2, label="Revised draft")
    editor = editor_client.get("/").wsgi_request.user  # the logged-in editor

    new = agenda_version_copy(version=draft, actor=editor)

    assert (new.number, new.label, new.dated) == (3, "Draft agenda", None)
    assert entries(new) == entries(draft)
    assert list(new.sources.all()) == list(draft.sources.all())
    assert {e.history.get().history_user for e in new.entries.all()} == {editor}
    assert new.history.get().history_user == editor


def test_editor_copies_from_the_version_page_and_lands_on_the_new_one(draft, editor_client):
    change = editor_client.get(reverse("admin:meetings_agendaversion_change", args=[draft.pk]))
    assert "New version from this one" in change.content.decode()

    response = editor_client.post(reverse("admin:meetings_agendaversion_copy", args=[draft.pk]))

    new = AgendaVersion.objects.get(number=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:meetings_agendaversion_change", args=[new.pk])
    assert entries(new) == entries(draft)
    page = editor_client.get(response["Location"])
    assert "Version 2 drafted from version 1" in page.content.decode()


def test_copy_is_also_an_action_on_the_list(draft, editor_client):
    response = editor_client.post(
        reverse("admin:meetings_agendaversion_changelist"),
        {"action": "copy_as_new_version", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 302
    assert AgendaVersion.objects.filter(number=2).exists()


def test_copy_refuses_get_and_viewers(draft, viewer_client, editor_client):
    url = reverse("admin:meetings_agendaversion_copy", args=[draft.pk])
    assert editor_client.get(url).status_code == 405
    assert viewer_client.post(url).status_code == 403
    change = viewer_client.get(reverse("admin:meetings_agendaversion_change", args=[draft.pk]))
    assert "New version from this one" not in change.content.decode()
    assert AgendaVersion.objects.count() == 1


def edit_next_version(draft, editor) -> AgendaVersion:
    """Version 2: Ukraine removed by a decision, Budget's slot set, Opening dropped, AOB added."""
    new = agenda_version_copy(version=draft, actor=editor)
    removal = AgendaEntryFactory(removed=True, version=AgendaVersionFactory()).removal_decision
    ukraine = new.entries.get(item__title="Ukraine")
    removal.agenda_item = ukraine.item
    removal.meeting = draft.meeting
    removal.save()
    ukraine.status, ukraine.removal_decision = AgendaEntry.Status.REMOVED, removal
    ukraine.save()
    new.entries.filter(item__title="Budget").update(time_slot_minutes=30)
    new.entries.filter(item__title="Opening").delete()
    AgendaEntryFactory(
        version=new, item=AgendaItemFactory(meeting=draft.meeting, title="AOB"), order=9
    )
    return new


def test_diff_lists_added_removed_status_and_slot_changes(draft, editor_client):
    new = edit_next_version(draft, None)

    diff = agenda_version_diff(draft, new)

    assert [c.item.title for c in diff.added] == ["AOB"]
    assert [c.item.title for c in diff.removed] == ["Opening"]
    assert [(c.item.title, c.before.status, c.after.status) for c in diff.status_changed] == [
        ("Ukraine", "included", "removed")
    ]
    assert [(c.item.title, c.slot_before, c.slot_after) for c in diff.slot_changed] == [
        ("Budget", None, 30)
    ]
    assert not diff.empty
    assert agenda_version_diff(draft, draft).empty


def test_diff_page_shows_the_changes_from_the_previous_version(
    draft, viewer_client, django_assert_max_num_queries
):
    new = edit_next_version(draft, None)
    url = reverse("admin:meetings_agendaversion_diff", args=[new.pk])

    # session, user, permissions (2), the version, the previous one, both versions' entries
    # with their items and decisions, the meeting's versions for the picker.
    with django_assert_max_num_queries(9):
        response = viewer_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    for text in ("AOB", "Added", "No longer listed", "Status changed", "Time slot changed"):
        assert text in content
    assert response.context["diff"].old == draft
    other = viewer_client.get(url, {"against": draft.pk})
    assert other.context["diff"].old == draft
