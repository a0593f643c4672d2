"""The letters archive's search: ranked full-text search with highlighted excerpts on
PostgreSQL, a plain word search on SQLite, and excerpts that are always escaped."""

import pytest
from django.db import connection

from proposals import search
from proposals.models import Decision, Letter

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search needs PostgreSQL"
)


@postgresql_only
def test_full_text_search_stems_words(record):
    letters = search.search_letters(Letter.objects.all(), "certify")
    # "certify" finds the letter that asks that diamonds stop being "certified".
    assert "2022-06-six-participants" in {letter.slug for letter in letters}


@postgresql_only
def test_full_text_search_ranks_subject_matches_above_summary_matches(record):
    letters = search.search_letters(Letter.objects.all(), "ukraine")
    ranked = [letter.slug for letter in letters]
    # Both name Ukraine in their subject; the others only in their summaries.
    assert set(ranked[:2]) == {"2022-06-13-ukraine", "2022-05-20-russia"}
    assert len(ranked) > 2


@postgresql_only
def test_full_text_search_understands_phrases_and_exclusions(record):
    found = {
        letter.slug for letter in search.search_letters(Letter.objects.all(), '"draft agenda"')
    }
    assert found == {"2022-06-09-kp-chair"}
    russia = {letter.slug for letter in search.search_letters(Letter.objects.all(), "russia")}
    found = {letter.slug for letter in search.search_letters(Letter.objects.all(), "russia -war")}
    assert "2022-05-us-state-department" in russia - found
    assert found


@postgresql_only
def test_headline_marks_matches_with_mark_elements(client, record):
    html = client.get("/letters/?q=deadlock").content.decode()
    assert "<mark>deadlock</mark>" in html
    assert 'href="/letters/2022-06-09-kp-chair/"' in html


def test_a_query_with_nothing_searchable_finds_nothing_and_does_not_fail(client, record):
    for query in ("!!!", "'", '"', "-", "or", "a" * 200):
        assert client.get("/letters/", {"q": query}).status_code == 200
        assert client.get("/search/", {"q": query}).status_code == 200


def test_excerpt_escapes_text_and_marks_every_match():
    html = search.excerpt("<i>Diamonds</i> & diamonds", ["diamonds"])
    assert html == "&lt;i&gt;<mark>Diamonds</mark>&lt;/i&gt; &amp; <mark>diamonds</mark>"


def test_excerpt_cuts_a_window_around_the_first_match():
    text = "word " * 200 + "needle " + "word " * 200
    html = search.excerpt(text, ["needle"], length=100)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>needle</mark>" in html


def test_highlighted_turns_only_the_sentinels_into_marks():
    start, stop = "\x02abc\x03", "\x02def\x04"
    html = search.highlighted(f"<mark>x</mark> {start}hit{stop} <b>", (start, stop))
    assert html == "&lt;mark&gt;x&lt;/mark&gt; <mark>hit</mark> &lt;b&gt;"


def test_terms_drop_search_operators():
    assert search.terms('"draft agenda" or -ukraine') == ["draft", "agenda", "ukraine"]


@postgresql_only
def test_full_text_search_can_use_the_gin_index(record):
    from django.db import connection as conn

    with conn.cursor() as cursor:
        # The real record is too small for the planner to prefer an index; forbid the
        # alternative to see that the index matches the query's expression.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = search.search_letters(Letter.objects.all(), "diamonds").explain()
    assert "letter_search_vector" in plan


@postgresql_only
def test_site_search_of_decisions_can_use_the_trigram_indexes(record):
    from django.db import connection as conn

    from proposals.views import _words_q

    with conn.cursor() as cursor:
        # As above: the real record is too small for the planner to prefer an index unasked.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Decision.objects.filter(_words_q(["title", "summary"], ["diamonds"])).explain()
    assert "decision_title_trgm" in plan
    assert "decision_summary_trgm" in plan
