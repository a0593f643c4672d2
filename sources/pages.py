"""Helpers every app's public pages share: numbered citations of sources, links to the same data
in the REST API, and pagination.

Sources live in this app, and every other app depends on it, so the helpers that cite sources
live here too. Nothing here queries the database: callers hand in objects whose `sources` were
prefetched by their selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from sources.models import Source

# The API's base path, by the patterns of kp_tracker/api_urls.py (/api/v1/meetings/<slug>/, ...).
API_BASE = "/api/v1/"
PAGE_SIZE = 25


class Citations:
    """Numbers the sources of the facts a page shows, in order of first citation.

    `cite(obj)` sets `obj.cites` to `[(number, source), ...]` for the `{% cite obj %}` tag; the
    page then lists `citations.sources` once, each entry numbered and linked to its source page.
    """

    def __init__(self) -> None:
        self._numbers: dict[int, int] = {}
        self.sources: list[Source] = []

    def number(self, source: Source) -> int:
        number = self._numbers.get(source.pk)
        if number is None:
            self.sources.append(source)
            number = self._numbers[source.pk] = len(self.sources)
        return number

    def cite(self, *objects) -> None:
        """Cite the (prefetched) sources of each object; None is skipped."""
        for obj in objects:
            if obj is not None:
                obj.cites = [(self.number(source), source) for source in obj.sources.all()]

    def cite_all(self, objects: Iterable) -> None:
        self.cite(*objects)

    def cite_source(self, obj, source: Source) -> None:
        """Cite one source for an object that has a single source field (a quote)."""
        obj.cites = [(self.number(source), source)]

    def __bool__(self) -> bool:
        return bool(self.sources)


@dataclass(frozen=True)
class ApiLink:
    """One resource of the API, linked as JSON and as CSV."""

    label: str
    path: str
    query: tuple[tuple[str, str], ...] = ()

    def _url(self, extra: tuple[tuple[str, str], ...]) -> str:
        params = [(key, value) for key, value in (*self.query, *extra) if value not in ("", None)]
        return f"{API_BASE}{self.path}" + (f"?{urlencode(params)}" if params else "")

    @property
    def json(self) -> str:
        return self._url(())

    @property
    def csv(self) -> str:
        return self._url((("format", "csv"),))


def api(label: str, path: str, **query) -> ApiLink:
    """An API link: `api("This meeting", f"meetings/{slug}/")`, query values as strings."""
    return ApiLink(label, path, tuple((k, str(v)) for k, v in query.items() if v not in ("", None)))


def paginate(request: HttpRequest, items, per_page: int = PAGE_SIZE) -> Page:
    """The requested page of `items`; an invalid or out-of-range page number gives the nearest."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))
