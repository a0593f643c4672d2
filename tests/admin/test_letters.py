"""A letter's page: its sources and authors, the proposals it carries and the positions it
states, all edited there."""

import pytest
from django.urls import reverse

from proposals.models import Decision, Position
from tests.admin.formdata import admin_page_data
from tests.factories import (
    DecisionFactory,
    LetterFactory,
    ParticipantFactory,
    ProposalFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def test_letter_page_links_proposals_and_states_positions(editor_client):
    letter = LetterFactory(subject="Objection to the Ukraine item")
    russia = ParticipantFactory(code="RU", name="Russia")
    proposal = ProposalFactory()
    decision = DecisionFactory(on_agenda_item=True)
    source = SourceFactory()
    url = reverse("admin:proposals_letter_change", args=[letter.pk])

    page = editor_client.get(url)
    titles = [inline.formset.prefix for inline in page.context["inline_admin_formsets"]]
    assert titles == ["Proposal_letters", "positions", "quotes"]
    data = admin_page_data(page)
    data["authors"] = [str(russia.pk)]
    data.update(
        {
            "Proposal_letters-TOTAL_FORMS": "1",
            "Proposal_letters-0-proposal": str(proposal.pk),
            "positions-TOTAL_FORMS": "1",
            "positions-0-decision": str(decision.pk),
            "positions-0-participant": str(russia.pk),
            "positions-0-stance": Position.Stance.OBJECTION,
            "positions-0-reason": "Outside the KP's scope.",
            "positions-0-sources": [str(source.pk)],
        }
    )

    response = editor_client.post(url, data)

    assert response.status_code == 302, [
        inline.formset.errors for inline in response.context["inline_admin_formsets"]
    ]
    letter.refresh_from_db()
    assert list(letter.authors.all()) == [russia]
    assert list(letter.proposals.all()) == [proposal]
    (position,) = letter.positions.all()
    assert (position.participant, position.stance, position.decision) == (
        russia,
        Position.Stance.OBJECTION,
        decision,
    )
    # The position saved from the letter's page counts like any other.
    assert Decision.objects.get(pk=decision.pk).outcome == Decision.Outcome.BLOCKED
