"""Page views run a bounded number of SQL queries, the same bound on the real record and on the
real record beside a synthetic one, each detail page measured on the biggest instance of its
kind. A view that queried per row would exceed its bound on the larger data.

Prefetches on an empty list run no query and counts run only when a list outgrows its limit, so
a page may run fewer queries than its bound; never more.
"""

import pytest

from tests.pages.pages import page_urls

pytestmark = pytest.mark.django_db

BOUNDS = {
    # Latest meetings, their sources; the recent objections' ids, those objections, their
    # sources; removed items, their sources, the objectors of the removing decisions; three
    # aggregates of the year statistics.
    "home": 11,
    # Participants, observers, meetings, proposals, decisions, sources (one icontains query
    # each); letters (full-text on PostgreSQL), their authors and observer authors; the found
    # letters' highlighted headlines (PostgreSQL).
    "search": 10,
    # The years for the filter, the count, the page of meetings (host and chair joined), their
    # sources, items removed and decisions blocked for the page's meetings.
    "meeting_list": 6,
    "meeting_list_filtered": 6,
    # The meeting (host, chair, chair person joined), its sources, attendees; items, their
    # sources, proposers, observer proposers; versions, their sources, entries (item joined);
    # the decisions' counts; the decisions shown, their sources, positions, positions' sources;
    # proposals, their sources, sponsors, observer sponsors, letters, and a count when over the
    # limit; sessions, their sources, boycotts. (An entry naming another meeting's item, which
    # validation refuses, would cost one query more, for that item.)
    "meeting_detail": 24,
    # Objections and vetoes per participant (one aggregate); participants; their statuses in
    # force today.
    "participant_list": 3,
    # The participant, its sources, statuses and their sources, chairmanships and their sources,
    # roles and their sources; meetings hosted or chaired and their sources; letters, their
    # sources and a count; the newest positions' ids, those positions, their sources and a
    # count; the veto record's ids, those rows, their sources and a count; co-objectors per
    # vetoed decision; totals; good standing today; co-objectors (names joined).
    "participant_detail": 23,
    "participant_vetoes": 23,
    # The observer, its sources, roles and their sources; letters, proposals, agenda items,
    # positions, each with their sources.
    "observer_detail": 12,
    # The person, their sources, roles and their sources, chairmanships and their sources;
    # letters signed and their sources; quotes (source and letter joined).
    "person_detail": 9,
    # The count, the page of proposals (meeting joined), their sources, sponsors, observer
    # sponsors.
    "proposal_list": 5,
    # The proposal (meeting, item joined), its sources, sponsors, observer sponsors; letters,
    # their sources, authors, observer authors, proposals; decisions, their sources, parties
    # concerned, positions (holders, letter joined), positions' sources.
    "proposal_detail": 14,
    # The count, the page of decisions (meeting, item, proposal joined), their sources; one
    # aggregate per rule for the summary (five rules).
    "decision_list": 8,
    "decision_list_differs": 8,
    # The decision (meeting, item, proposal joined), its sources, parties concerned, positions,
    # their sources, accounts, their sources, named objectors, items removed; the proposals
    # behind it, their sources, sponsors, observer sponsors, letters, the letters' sources,
    # authors, observer authors and proposals.
    "decision_detail": 18,
    # Filter choices (participant authors, observer authors, years, proposals), the count, the
    # page of letters (signatory joined), their sources, authors, observer authors, proposals.
    "letter_list": 10,
    # As above, and the page's highlighted headlines (PostgreSQL).
    "letter_search": 11,
    # The letter (signatory joined), its sources, authors, observer authors, quotes, proposals,
    # the proposals' sources, positions, the positions' sources.
    "letter_detail": 9,
    # Years (meetings, letters), the count of events and the page of the UNION of each kind's
    # newest events (one query each on PostgreSQL), then per kind present: meetings (host
    # joined) and sources; agenda versions and sources; letters, authors, observer authors,
    # sources; decisions and sources; undated letters counted.
    "timeline": 15,
    "charts": 0,
    # Participants' names; objections per participant and year, and their codes.
    "chart_objections": 3,
    # Participants' names; co-objection pairs and their codes (the blocs are made from them).
    "chart_co_objections": 3,
    # Years (meetings, letters); the latest meetings; items removed, and decisions and decisions
    # blocked, for those meetings.
    "chart_removed_items": 5,
    # The count and the page of sources.
    "source_list": 2,
    # The source; per kind of sourced fact (16) the first rows and a count when over the limit;
    # quotes and their count.
    "source_detail": 35,
}


def test_every_page_has_a_bound():
    assert set(BOUNDS) == set(PAGES)


PAGES = [
    "home",
    "search",
    "meeting_list",
    "meeting_list_filtered",
    "meeting_detail",
    "participant_list",
    "participant_detail",
    "participant_vetoes",
    "observer_detail",
    "person_detail",
    "proposal_list",
    "proposal_detail",
    "decision_list",
    "decision_list_differs",
    "decision_detail",
    "letter_list",
    "letter_search",
    "letter_detail",
    "timeline",
    "charts",
    "chart_objections",
    "chart_co_objections",
    "chart_removed_items",
    "source_list",
    "source_detail",
]


def _check(client, django_assert_max_num_queries, name: str) -> None:
    url = page_urls()[name]
    # One more than the view's own: the page cache reads the record's version first.
    with django_assert_max_num_queries(BOUNDS[name] + 1):
        response = client.get(url)
    assert response.status_code == 200, url


@pytest.mark.parametrize("name", PAGES)
def test_queries_on_the_real_record(client, record, django_assert_max_num_queries, name):
    _check(client, django_assert_max_num_queries, name)


@pytest.mark.parametrize("name", PAGES)
def test_same_queries_on_a_larger_record(
    client, larger_record, django_assert_max_num_queries, name
):
    _check(client, django_assert_max_num_queries, name)
