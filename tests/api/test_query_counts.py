"""Every endpoint runs a fixed number of queries, whatever the number of rows.

Each endpoint is read on a generated record and on one ten times larger, under the same bound.
The comments list the queries expected. Reads are anonymous, so no query looks up a token.
"""

import pytest

pytestmark = pytest.mark.django_db

M = "2000-meeting-0"  # a meeting of the generated record, at any scale

ENDPOINTS = [
    # count, page, statuses, sources
    ("/api/v1/participants/", 4),
    # participant, statuses, sources
    ("/api/v1/participants/QA/", 3),
    # count, page, sources
    ("/api/v1/observers/", 3),
    # count, page, roles (with participant and observer), sources
    ("/api/v1/people/", 4),
    # count, page, sources
    ("/api/v1/working-bodies/", 3),
    # count, page (with body, participant, person), sources
    ("/api/v1/chairs/", 3),
    # count, page
    ("/api/v1/sources/", 2),
    # count, page (with host, chair, chair person), attendees, sessions, boycotters, sources
    ("/api/v1/meetings/", 6),
    # meeting, attendees, sessions, boycotters, sources
    (f"/api/v1/meetings/{M}/", 5),
    # versions, entries (with item and removal decision), proposers, observer proposers
    (f"/api/v1/meetings/{M}/agenda/", 4),
    # page, history (entries with version and decision), proposers, observer proposers, sources
    ("/api/v1/agenda-items/", 5),
    ("/api/v1/agenda-items/?removed=true&ordering=date", 5),
    # page, authors, observer authors, quotes, proposals, sources
    ("/api/v1/letters/", 6),
    ("/api/v1/letters/?q=scope", 6),
    # count, page, sponsors, observer sponsors, letters, decisions, sources
    ("/api/v1/proposals/", 7),
    # page, parties concerned, positions, their sources, accounts, their named objectors,
    # their sources, sources
    ("/api/v1/decisions/", 8),
    ("/api/v1/decisions/?outcome=blocked&objector=QA", 8),
    # the same for one decision
    (f"/api/v1/decisions/{M}-remove/", 8),
    # ... and the engine's counterfactual: decision rows, stance counts, objectors, observer
    # objectors, parties concerned, attendance, participants in good standing on its day
    (f"/api/v1/decisions/{M}-remove/?rule=two_thirds&counting=recorded", 15),
    # page (decision, holder, letter joined), sources
    ("/api/v1/positions/", 2),
    # the page of positions (with participant and letter), the decisions of the page
    ("/api/v1/objections/", 2),
    ("/api/v1/objections/?participant=QA&ordering=-date", 2),
    ("/api/v1/objections/?year=2000&subject_kind=agenda_item&blocked=true", 2),
    # veto counts per participant, the participants
    ("/api/v1/statistics/veto-records/", 2),
    # participant, its counts, its blocked objections and their decisions, its co-objectors
    ("/api/v1/statistics/veto-records/QA/", 5),
    # the pairs, their participants' codes
    ("/api/v1/statistics/co-objections/", 2),
    ("/api/v1/statistics/co-objection-matrix/", 2),
    ("/api/v1/statistics/blocs/?min_together=1", 2),
    # meetings with their counts
    ("/api/v1/statistics/meetings/", 1),
    # meetings per year, removed items per year, decisions per year
    ("/api/v1/statistics/years/", 3),
    # one, grouped by every rule's outcome at once
    ("/api/v1/statistics/counterfactuals/", 1),
    # count, page
    ("/api/v1/statistics/counterfactuals/two_thirds/?outcome=blocked", 2),
    # none: the rules are code
    ("/api/v1/rules/", 0),
    # organizations: participants, observers, working bodies and the sources of each (6);
    # persons and their sources (2); memberships: participants, observers, roles and their
    # sources, chairmanships and their sources (6); events and their sources (2); proposals
    # and their sources, votes, decisions and their sources (5)
    ("/api/v1/popolo/", 21),
    ("/api/v1/popolo/?year=2000", 21),
]


@pytest.mark.parametrize(("url", "queries"), ENDPOINTS)
def test_queries_do_not_grow_with_rows(
    scaled_record, anon, django_assert_max_num_queries, url, queries
):
    with django_assert_max_num_queries(queries):
        response = anon.get(url)
    assert response.status_code == 200, response.content[:500]


def test_ten_times_the_data_fills_the_pages(scaled_record, anon):
    """At scale 10 the lists are longer than a page, so the bounds above hold for full pages;
    at scale 1 they are not."""
    full = scaled_record == 10
    for url in ("/api/v1/objections/", "/api/v1/decisions/", "/api/v1/agenda-items/"):
        assert (len(anon.get(url).json()["results"]) == 50) is full
