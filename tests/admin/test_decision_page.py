"""The decision page: a decision and every participant's position on one page, then the outcome
the consensus engine computed from them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from meetings.models import AgendaItem
from proposals.models import Decision, Position, Proposal
from tests.admin.formdata import form_data, formset_data
from tests.factories import (
    AttendanceFactory,
    DecisionFactory,
    ParticipantFactory,
    ParticipantStatusFactory,
    PositionFactory,
    ProposalFactory,
)

pytestmark = pytest.mark.django_db


def record_url(decision=None) -> str:
    if decision is None:
        return reverse("admin:proposals_decision_record")
    return reverse("admin:proposals_decision_record", args=[decision.pk])


def page_data(response, stances: dict[str, str] | None = None, **decision_fields) -> dict:
    """The page's POST data as rendered, with some participants' stances and decision fields set."""
    context = response.context
    data = {**form_data(context["decision_form"]), **formset_data(context["formset"])}
    data["positions_seen"] = context["positions_seen"]
    for form, holder in context["participant_rows"] + context["observer_rows"]:
        code = holder.obj.code
        if stances and code in stances:
            stance, _, reason = stances[code].partition(":")
            data[form.add_prefix("stance")] = stance
            data[form.add_prefix("reason")] = reason
    for name, value in decision_fields.items():
        data[f"decision-{name}"] = value
    return data


def new_decision_page(client, kasane):
    response = client.get(
        record_url(), {"meeting": kasane["meeting"].pk, "agenda_item": kasane["item"].pk}
    )
    assert response.status_code == 200
    return response


def test_page_asks_for_the_meeting_first(editor_client, kasane):
    response = editor_client.get(record_url())
    assert response.status_code == 200
    assert "choice_form" in response.context
    assert b"Pick the meeting that decided" in response.content


def test_page_lists_every_participant_in_good_standing_and_the_observers(editor_client, kasane):
    # Suspended over the meeting: not taking part, so not listed.
    suspended = ParticipantFactory(code="VE", name="Venezuela")
    ParticipantStatusFactory(participant=suspended, start_date=datetime.date(2008, 1, 1))

    response = new_decision_page(editor_client, kasane)

    listed = [holder.obj.code for _, holder in response.context["participant_rows"]]
    assert sorted(listed) == sorted(kasane["participants"])
    assert [h.obj.code for _, h in response.context["observer_rows"]] == ["kpcsc"]
    assert response.context["electorate"] == "good_standing"
    # Every row starts with no position on record.
    assert {form["stance"].value() for form, _ in response.context["participant_rows"]} == {""}
    form = response.context["decision_form"]
    assert form["agenda_item"].value() == kasane["item"].pk
    assert b"Save and show the outcome" in response.content


def test_page_lists_the_attendance_where_the_meeting_recorded_it(editor_client, kasane):
    for code in ("RU", "UA"):
        AttendanceFactory(meeting=kasane["meeting"], participant=kasane["participants"][code])

    response = new_decision_page(editor_client, kasane)

    assert [h.obj.code for _, h in response.context["participant_rows"]] == ["RU", "UA"]
    assert response.context["electorate"] == "attendance"


def test_saving_records_positions_runs_the_engine_and_marks_the_item_removed(editor_client, kasane):
    page = new_decision_page(editor_client, kasane)
    data = page_data(
        page,
        {"RU": "objection:Outside the KP's scope", "BY": "objection", "UA": "support"},
        title="Keep the Ukraine item on the agenda",
        sources=[str(kasane["source"].pk)],
        method=Decision.Method.CORRESPONDENCE,
    )

    # The form posts to the page's own address, meeting and subject included.
    response = editor_client.post(f"{record_url()}?{page.request['QUERY_STRING']}", data)

    assert response.status_code == 302, _errors(response)
    decision = Decision.objects.get()
    assert response["Location"] == record_url(decision)
    assert decision.slug == "2022-intersessional-kasane-keep-the-ukraine-item-on-the-agenda"
    assert decision.outcome == Decision.Outcome.BLOCKED
    positions = {p.participant.code: p for p in decision.positions.select_related("participant")}
    assert {code: p.stance for code, p in positions.items()} == {
        "RU": "objection",
        "BY": "objection",
        "UA": "support",
    }
    assert positions["RU"].reason == "Outside the KP's scope"
    assert list(positions["UA"].sources.all()) == [kasane["source"]]
    # The history of each position names the editor.
    assert positions["RU"].history.get().history_user.username == "secretariat-editor"

    shown = editor_client.get(response["Location"])
    content = shown.content.decode()
    assert "Outcome under the KP's rule: Blocked" in content
    assert shown.context["explanation"]["blocked_by"] == ["BY", "RU"]
    item = AgendaItem.objects.get()
    assert item.removed_by == decision
    assert "is marked removed by this decision" in content
    assert reverse("admin:meetings_agendaitem_change", args=[item.pk]) in content


def test_a_decision_on_a_proposal_shows_it_not_adopted(editor_client, kasane):
    proposal = ProposalFactory(meeting=kasane["meeting"], title="Widen the definition")
    page = editor_client.get(
        record_url(), {"meeting": kasane["meeting"].pk, "proposal": proposal.pk}
    )
    assert page.context["decision_form"]["subject_kind"].value() == "proposal"
    data = page_data(page, {"RU": "objection"}, sources=[str(kasane["source"].pk)])

    response = editor_client.post(f"{record_url()}?{page.request['QUERY_STRING']}", data)

    assert response.status_code == 302, _errors(response)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.NOT_ADOPTED
    shown = editor_client.get(response["Location"]).content.decode()
    assert "The proposal “Widen the definition” is now: not adopted." in shown
    assert reverse("admin:proposals_proposal_change", args=[proposal.pk]) in shown


def test_changing_and_clearing_positions_on_an_existing_decision(editor_client, kasane):
    decision = DecisionFactory(
        on_agenda_item=True, meeting=kasane["meeting"], agenda_item=kasane["item"]
    )
    russia, ukraine = kasane["participants"]["RU"], kasane["participants"]["UA"]
    objection = PositionFactory(decision=decision, participant=russia, stance="objection")
    PositionFactory(decision=decision, participant=ukraine, stance="support")
    assert Decision.objects.get().outcome == Decision.Outcome.BLOCKED

    page = editor_client.get(record_url(decision))
    rows = {h.obj.code: form for form, h in page.context["participant_rows"]}
    assert rows["RU"]["stance"].value() == "objection"
    response = editor_client.post(record_url(decision), page_data(page, {"RU": ""}))

    assert response.status_code == 302, _errors(response)
    assert not Position.objects.filter(pk=objection.pk).exists()
    decision.refresh_from_db()
    assert decision.outcome != Decision.Outcome.BLOCKED
    assert AgendaItem.objects.get().removed_by is None
    # The deletion is in the history, by the editor.
    deleted = Position.history.filter(id=objection.pk, history_type="-").get()
    assert deleted.history_user.username == "secretariat-editor"


def test_positions_changed_meanwhile_by_another_editor_are_kept_or_refused(
    editor_client, second_editor_client, kasane
):
    decision = DecisionFactory(
        on_agenda_item=True, meeting=kasane["meeting"], agenda_item=kasane["item"]
    )
    first = editor_client.get(record_url(decision))
    second = second_editor_client.get(record_url(decision))

    # The first editor records Russia's objection and Belarus's.
    response = editor_client.post(
        record_url(decision), page_data(first, {"RU": "objection", "BY": "objection"})
    )
    assert response.status_code == 302, _errors(response)

    # The second, from the page opened before, records Ukraine's support (untouched by the
    # first: merged) and Belarus's support (changed by the first: refused, shown).
    response = second_editor_client.post(
        record_url(decision), page_data(second, {"UA": "support", "BY": "support"})
    )

    assert response.status_code == 200
    conflicts = response.context["conflicts"]
    assert [(c["holder"].obj.code, c["now"], c["yours"]) for c in conflicts] == [
        ("BY", "Objection", "Support")
    ]
    assert "Positions changed while you were editing" in response.content.decode()
    stances = dict(decision.positions.values_list("participant__code", "stance"))
    assert stances == {"RU": "objection", "BY": "objection"}  # nothing of the second saved

    # Saving again from the refreshed page is a deliberate choice, and goes through.
    again = page_data(response, {"UA": "support", "BY": "support"})
    response = second_editor_client.post(record_url(decision), again)
    assert response.status_code == 302, _errors(response)
    stances = dict(decision.positions.values_list("participant__code", "stance"))
    assert stances == {"RU": "objection", "BY": "support", "UA": "support"}


def test_page_queries_do_not_grow_with_the_participants(editor_client):
    decision = DecisionFactory(on_agenda_item=True)

    def queries(participants: int) -> tuple[int, int]:
        ParticipantFactory.create_batch(participants - len(_listed(editor_client, decision)))
        with CaptureQueriesContext(connection) as get:
            page = editor_client.get(record_url(decision))
        everyone = {h.obj.code: "objection" for _, h in page.context["participant_rows"]}
        assert len(everyone) == participants
        Position.objects.filter(decision=decision).delete()
        page = editor_client.get(record_url(decision))
        with CaptureQueriesContext(connection) as post:
            response = editor_client.post(record_url(decision), page_data(page, everyone))
        assert response.status_code == 302, _errors(response)
        return len(get), len(post)

    small, large = queries(10), queries(40)
    # (The first POST also looks up the admin log's content type, cached afterwards.)
    assert large[0] == small[0] and large[1] <= small[1]
    # GET: session, user, permissions (2), decision with meeting, item and proposal; attendance,
    # participants in good standing, observers, positions, letters, the decision's sources,
    # the subject choices (items, proposals), the autocomplete's selected sources.
    assert small[0] <= 16
    # POST: the page's reads again (positions locked first), the decision compared with its
    # row (saved, validated and recomputed only when its own fields changed), the sources,
    # the positions inserted in one query with their history and sources in one each, one
    # recompute of the outcome (8) and its consequences (5), the notification event, the
    # refreshed outcome, the admin log: a fixed number, whatever the rows.
    assert small[1] <= 75


def test_viewer_sees_the_page_without_a_save_button_and_cannot_post(
    viewer_client, editor_client, kasane
):
    decision = DecisionFactory(
        on_agenda_item=True, meeting=kasane["meeting"], agenda_item=kasane["item"]
    )
    page = viewer_client.get(record_url(decision))
    assert page.status_code == 200
    assert b"Save and show the outcome" not in page.content

    response = viewer_client.post(record_url(decision), page_data(page, {"RU": "objection"}))

    assert response.status_code == 403
    assert not decision.positions.exists()
    new_page = viewer_client.post(record_url(), {"meeting": kasane["meeting"].pk})
    assert new_page.status_code == 403


def _listed(client, decision) -> list:
    return client.get(record_url(decision)).context["participant_rows"]


def _errors(response) -> object:
    if response.context is None:
        return response
    context = response.context
    return (
        context.get("decision_form") and context["decision_form"].errors,
        context.get("formset") and context["formset"].errors,
        context.get("formset_error"),
        context.get("conflicts"),
    )
