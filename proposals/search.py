"""Full-text search of letters, with highlighted excerpts that are always escaped.

On PostgreSQL: a weighted search vector (subject before summary), `websearch` query syntax,
results ranked by SearchRank and excerpts from SearchHeadline. On SQLite, which has no full-text
search in Django, every word must appear in the subject or summary (icontains) and the excerpt is
cut in Python.

Highlighting is built safely: SearchHeadline marks matches with random sentinels that no letter
can contain, the excerpt is escaped as a whole, and only then are the sentinels turned into
<mark> elements. Record text never reaches the page unescaped.
"""

from __future__ import annotations

import re
import secrets

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from proposals.models import Letter

CONFIG = "english"
EXCERPT_CHARS = 240


def full_text() -> bool:
    return connection.vendor == "postgresql"


APOSTROPHES = "'\u2019"


def terms(query: str) -> list[str]:
    """The words of a query, without websearch operators (quotes, a leading minus, "or")."""
    words = re.findall(rf"[\w{APOSTROPHES}-]+", query)
    stripped = (word.strip(f"-{APOSTROPHES}") for word in words)
    return [word for word in stripped if word and word.lower() != "or"][:10]


def stored_vector() -> RawSQL:
    """The letters' stored search vector (PostgreSQL only; migration 0013 generates it from
    subject, weight A, and summary, weight B), so neither matching nor ranking rebuilds it.
    Not a model field: SQLite has no such column. Always the letters table itself, unaliased."""
    return RawSQL(
        f'"{Letter._meta.db_table}"."search_vector"', [], output_field=SearchVectorField()
    )


def search_letters(queryset: QuerySet[Letter], query: str) -> QuerySet[Letter]:
    """Letters matching `query`, best first: ranked by SearchRank on PostgreSQL, newest first on
    SQLite, where every word must appear in the subject or the summary."""
    if full_text():
        search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
        return (
            # alias, not annotate: the vector is for matching and ranking, not for the page.
            queryset.alias(search=stored_vector())
            .annotate(rank=SearchRank(stored_vector(), search_query))
            .filter(search=search_query)
            .order_by("-rank", F("date").desc(nulls_last=True), "-pk")
        )
    for word in terms(query):
        queryset = queryset.filter(Q(subject__icontains=word) | Q(summary__icontains=word))
    return queryset.order_by(F("date").desc(nulls_last=True), "-pk")


def headlines(letters: list[Letter], query: str) -> dict[int, tuple[SafeString, SafeString]]:
    """Highlighted subject and excerpt of each letter, by pk: one query for the page's letters
    only, since SearchHeadline re-reads the whole text and is the costliest part of a search."""
    start, stop = f"\x02{secrets.token_hex(6)}\x03", f"\x02{secrets.token_hex(6)}\x04"
    search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
    options = {"start_sel": start, "stop_sel": stop, "config": CONFIG}
    rows = (
        Letter.objects.filter(pk__in=[letter.pk for letter in letters])
        .annotate(
            headline_subject=SearchHeadline("subject", search_query, highlight_all=True, **options),
            headline_summary=SearchHeadline(
                "summary",
                search_query,
                max_words=40,
                min_words=15,
                max_fragments=2,
                fragment_delimiter=" … ",
                **options,
            ),
        )
        .values_list("pk", "headline_subject", "headline_summary")
    )
    return {
        pk: (highlighted(subject, (start, stop)), highlighted(summary, (start, stop)))
        for pk, subject, summary in rows
    }


def highlighted(text: str, sentinels: tuple[str, str]) -> SafeString:
    """Escape a SearchHeadline result, then turn its sentinels into <mark> elements."""
    start, stop = sentinels
    escaped = str(escape(text))
    # The sentinels hold only control characters and hex digits, which escape() leaves alone.
    return mark_safe(escaped.replace(start, "<mark>").replace(stop, "</mark>"))


def excerpt(text: str, words: list[str], length: int = EXCERPT_CHARS) -> SafeString:
    """An escaped excerpt of `text` around the first match of `words`, matches in <mark>."""
    if not words:
        return escape(text[:length] + ("…" if len(text) > length else ""))
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    match = pattern.search(text)
    begin = max(0, (match.start() if match else 0) - length // 3)
    window = text[begin : begin + length]
    parts = pattern.split(window)
    found = pattern.findall(window)
    html = [str(escape(parts[0]))]
    for marked, rest in zip(found, parts[1:], strict=True):
        html.append(f"<mark>{escape(marked)}</mark>{escape(rest)}")
    prefix = "…" if begin else ""
    suffix = "…" if begin + length < len(text) else ""
    return mark_safe(prefix + "".join(html) + suffix)


def decorate(letters: list[Letter], query: str) -> None:
    """Give each found letter `subject_html` and `excerpt_html`, escaped and highlighted."""
    if not letters:
        return
    if full_text():
        found = headlines(letters, query)
        for letter in letters:
            letter.subject_html, letter.excerpt_html = found[letter.pk]
        return
    words = terms(query)
    for letter in letters:
        letter.subject_html = excerpt(letter.subject, words, length=10_000)
        letter.excerpt_html = excerpt(letter.summary, words)
