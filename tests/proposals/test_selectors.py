"""Selectors that read less than the whole record must give what the whole-record query gives."""

from __future__ import annotations

import datetime
import random

import pytest
from django.db.models import F, Max

from proposals import selectors
from proposals.models import Proposal
from tests.factories import LetterFactory, ProposalFactory

pytestmark = pytest.mark.django_db


def newest_by_grouping(limit: int) -> list[tuple[str, str]]:
    """The letters archive's proposal choices as every letter grouped would give them."""
    return list(
        Proposal.objects.filter(letters__isnull=False)
        .annotate(latest=Max("letters__date"))
        .order_by(F("latest").desc(nulls_last=True), "slug")
        .values_list("slug", "title")[:limit]
    )


@pytest.mark.parametrize("limit", [1, 3, 7, 40])
def test_proposal_choices_read_from_the_newest_letters_match_grouping_every_letter(limit):
    rng = random.Random(limit)
    days = [datetime.date(2022, 1, 1) + datetime.timedelta(days=n) for n in range(6)] + [None]
    letters = [LetterFactory(date=rng.choice(days)) for _ in range(25)]
    for _ in range(15):  # ties of day on purpose: few days, many proposals
        ProposalFactory().letters.set(rng.sample(letters, rng.randint(1, 3)))
    ProposalFactory()  # no letter: never a choice
    chosen = selectors.letter_filter_choices(proposal_limit=limit)["proposals"]
    assert chosen == newest_by_grouping(limit)


def test_proposal_choices_read_in_chunks_stop_past_the_limits_day():
    letters = [LetterFactory(date=datetime.date(2022, 1, 1 + n % 5)) for n in range(20)]
    for letter in letters:
        ProposalFactory().letters.add(letter)
    found = selectors._proposals_with_newest_letters(6, chunk=2)
    # The sixth newest proposal's letter is of 4 January, shared by four proposals in all.
    assert len(found) == 8
    assert selectors.letter_filter_choices(proposal_limit=6)["proposals"] == newest_by_grouping(6)
