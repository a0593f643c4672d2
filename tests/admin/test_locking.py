"""No lost updates: a record saved from an older revision is refused, in the model and in the
admin, where the second editor is shown what changed meanwhile."""

import pytest
from django.db import transaction
from django.urls import reverse

from kp_tracker.locking import RecordChanged
from participants.models import Participant
from proposals.consensus import engine
from proposals.models import Decision, Position, Proposal
from tests.admin.formdata import admin_page_data
from tests.factories import (
    DecisionFactory,
    ParticipantFactory,
    PositionFactory,
    ProposalFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


# The model


def test_every_save_raises_the_revision():
    participant = ParticipantFactory()
    assert participant.lock_version == 1
    participant.name = "Botswana"
    participant.save()
    participant.save(update_fields=["name"])
    assert Participant.objects.get().lock_version == participant.lock_version == 3


def test_saving_a_stale_copy_is_refused_and_changes_nothing():
    participant = ParticipantFactory(name="Botswana")
    stale = Participant.objects.get()
    participant.name = "Republic of Botswana"
    participant.save()

    stale.name = "Botwsana"
    # Like an IntegrityError, the refusal spoils the transaction it happens in: a savepoint.
    with (
        pytest.raises(RecordChanged, match="revision 1 was read, the database holds revision 2"),
        transaction.atomic(),
    ):
        stale.save()

    assert Participant.objects.get().name == "Republic of Botswana"


def test_queryset_updates_and_the_engine_leave_the_revision_alone():
    position = PositionFactory(stance=Position.Stance.OBJECTION)
    decision = Decision.objects.get()
    # The engine wrote the outcome with a queryset update; the decision can still be saved.
    assert decision.outcome == Decision.Outcome.BLOCKED
    decision.summary = "Blocked by one objection."
    decision.save()
    assert engine.recompute() == 0
    position.refresh_from_db()
    assert position.lock_version == 1


# The admin


def test_second_editor_is_refused_and_shown_what_changed(editor_client, second_editor_client):
    participant = ParticipantFactory(name="Botswana", note="")
    url = change_url(participant)
    first = admin_page_data(editor_client.get(url))
    second = admin_page_data(second_editor_client.get(url))

    first["name"] = "Republic of Botswana"
    assert editor_client.post(url, first).status_code == 302

    second["note"] = "Chair in 2013."
    second["name"] = "Botswana (KP chair)"
    response = second_editor_client.post(url, second)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "changed_meanwhile" in [e.code for e in form.non_field_errors().as_data()]
    assert [(c.label, c.when_opened, c.now, c.yours) for c in form.conflict] == [
        ("Name", "Botswana", "Republic of Botswana", "Botswana (KP chair)")
    ]
    assert form.conflict_by.startswith("secretariat-editor, ")
    content = response.content.decode()
    assert "Changed by someone else while you were editing" in content
    assert "Republic of Botswana" in content
    participant.refresh_from_db()
    assert (participant.name, participant.note) == ("Republic of Botswana", "")

    # Having seen the other edit, saving again keeps the second editor's values, knowingly.
    again = admin_page_data(response)
    assert second_editor_client.post(url, again).status_code == 302
    participant.refresh_from_db()
    assert (participant.name, participant.note) == ("Botswana (KP chair)", "Chair in 2013.")


def test_fields_the_second_editor_left_alone_take_the_other_edit(
    editor_client, second_editor_client
):
    participant = ParticipantFactory(name="Botswana", note="")
    url = change_url(participant)
    first = admin_page_data(editor_client.get(url))
    second = admin_page_data(second_editor_client.get(url))
    first["name"] = "Republic of Botswana"
    assert editor_client.post(url, first).status_code == 302

    second["note"] = "Chair in 2013."
    response = second_editor_client.post(url, second)

    assert response.status_code == 200
    (change,) = response.context["adminform"].form.conflict
    assert (change.name, change.now, change.merged) == ("name", "Republic of Botswana", True)
    assert "not changed by you" in response.content.decode()
    again = admin_page_data(response)
    assert (again["name"], again["note"]) == ("Republic of Botswana", "Chair in 2013.")
    assert second_editor_client.post(url, again).status_code == 302
    participant.refresh_from_db()
    assert (participant.name, participant.note) == ("Republic of Botswana", "Chair in 2013.")


def test_saving_an_untouched_form_after_another_edit_keeps_the_other_edit(
    editor_client, second_editor_client
):
    participant = ParticipantFactory(name="Botswana")
    url = change_url(participant)
    first = admin_page_data(editor_client.get(url))
    second = admin_page_data(second_editor_client.get(url))
    first["name"] = "Republic of Botswana"
    assert editor_client.post(url, first).status_code == 302

    # The second editor changed nothing but would write the old name back: refused.
    response = second_editor_client.post(url, second)

    assert response.status_code == 200
    assert Participant.objects.get().name == "Republic of Botswana"


def test_a_change_to_the_sources_meanwhile_is_a_conflict(editor_client, second_editor_client):
    participant = ParticipantFactory()
    added = SourceFactory()
    url = change_url(participant)
    first = admin_page_data(editor_client.get(url))
    second = admin_page_data(second_editor_client.get(url))
    first["sources"] = [*first["sources"], str(added.pk)]
    assert editor_client.post(url, first).status_code == 302

    second["name"] = "Renamed"
    response = second_editor_client.post(url, second)

    assert response.status_code == 200
    (change,) = response.context["adminform"].form.conflict
    assert change.name == "sources" and str(added) in change.now
    assert participant.sources.count() == 2


def test_engine_update_of_a_proposal_status_is_not_overwritten(editor_client):
    proposal = ProposalFactory(summary="")
    url = change_url(proposal)
    opened = admin_page_data(editor_client.get(url))
    # Meanwhile a decision blocks it: the engine sets the status with a queryset update.
    decision = DecisionFactory(proposal=proposal)
    PositionFactory(decision=decision, stance=Position.Stance.OBJECTION)
    assert Proposal.objects.get().status == Proposal.Status.NOT_ADOPTED

    opened["summary"] = "Amends the definition."
    response = editor_client.post(url, opened)

    assert response.status_code == 200
    (change,) = response.context["adminform"].form.conflict
    assert (change.name, change.when_opened, change.now) == (
        "status",
        "No decision on record",
        "Not adopted",
    )
    assert Proposal.objects.get().status == Proposal.Status.NOT_ADOPTED


def test_inline_rows_are_checked_each_against_its_own_row(editor_client, second_editor_client):
    position = PositionFactory(stance=Position.Stance.SUPPORT, reason="")
    decision = position.decision
    url = change_url(decision)
    first = admin_page_data(editor_client.get(url))
    second = admin_page_data(second_editor_client.get(url))

    first["positions-0-stance"] = Position.Stance.OBJECTION
    assert editor_client.post(url, first).status_code == 302

    second["positions-0-reason"] = "Supports the item."
    response = second_editor_client.post(url, second)

    assert response.status_code == 200
    (inline, _) = response.context["inline_admin_formsets"]
    (row_errors,) = [e for e in inline.formset.errors if e]
    assert "Support” is now “Objection" in str(row_errors)
    position.refresh_from_db()
    assert (position.stance, position.reason) == (Position.Stance.OBJECTION, "")


def test_a_form_without_its_revision_token_is_refused(editor_client):
    participant = ParticipantFactory(name="Botswana")
    url = change_url(participant)
    data = admin_page_data(editor_client.get(url))
    data["name"] = "Renamed"
    del data["revision_token"]

    response = editor_client.post(url, data)

    assert response.status_code == 200
    assert "not opened from the record as it stands" in response.content.decode()
    assert Participant.objects.get().name == "Botswana"
