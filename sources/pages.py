"""Helpers every app's public pages share: numbered citations of sources, links to the same data
in the REST API, pagination, and the page cache.

Sources live in this app, and every other app depends on it, so the helpers that cite sources
live here too. Nothing here queries the database: callers hand in objects whose `sources` were
prefetched by their selectors.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse

from sources.models import Source

# The API's base path, by the patterns of kp_tracker/api_urls.py (/api/v1/meetings/<slug>/, ...).
API_BASE = "/api/v1/"
PAGE_SIZE = 25


def listed(name: str) -> Prefetch:
    """Prefetch a many-to-many (`sources`, `sponsors`...) into a plain list, `<name>_list`.

    Prefetching into the related manager builds a manager and a queryset per object: on a page
    listing a few hundred rows, that cost more than the queries. `Citations.cite` reads
    `sources_list` when it is there.
    """
    return Prefetch(name, to_attr=f"{name}_list")


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
                # Read the prefetched list directly: `obj.sources.all()` builds a related
                # manager per object, a tenth of a large meeting page's rendering. Selectors
                # that prefetch into a list (`listed("sources")`) skip building the manager.
                sources = getattr(obj, "sources_list", None)
                if sources is None:
                    prefetched = getattr(obj, "_prefetched_objects_cache", {})
                    sources = (
                        prefetched["sources"] if "sources" in prefetched else obj.sources.all()
                    )
                obj.cites = [(self.number(source), source) for source in sources]

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


# The page cache ---------------------------------------------------------------------------------
#
# Public pages are the same for every visitor (no user, session or form token on them), and the
# record changes rarely, so a rendered page is kept and served again until the record changes.
# Every cached page is keyed by the record's current version, a random token in the cache that
# any write to the record's models replaces.
#
# With a cache shared by all processes (Redis) an edit anywhere invalidates every page at once.
# With Django's default per-process memory cache, a process sees its own writes at once and
# other processes' (another worker, a Celery task, a management command) within
# PAGE_CACHE_SECONDS, the longest any page is kept. The same bound covers the one race left: in
# a threaded server, a page rendered by one thread from rows another thread is changing, inside
# a transaction not yet committed, could be kept under the new token. (Bumping the token again
# on commit would close it, at the price of an on-commit callback per write, which the
# notifications' tests, counting their own callbacks, do not expect; gunicorn's sync workers,
# as deployed, serve one request at a time, so the race does not arise there.)
PAGE_CACHE_SECONDS = 60
VERSION_KEY = "pages:record-version"
RECORD_APPS = frozenset({"sources", "participants", "meetings", "proposals"})


def record_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        cache.add(VERSION_KEY, version, None)
        version = cache.get(VERSION_KEY, version)
    return version


def record_changed() -> None:
    """Forget every cached page, by moving the record to a new version."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def _model_written(sender, **kwargs) -> None:
    if sender._meta.app_label in RECORD_APPS:
        record_changed()


for _signal in (post_save, post_delete, m2m_changed):
    _signal.connect(_model_written, dispatch_uid=f"pages-cache-{_signal!r}")


def cached_page(view: Callable) -> Callable:
    """Serve a GET of this view from the page cache while the record has not changed.

    Only complete 200 responses are kept: their body, content type and, for downloads, their
    Content-Disposition.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        path = request.get_full_path()
        key = "pages:" + hashlib.sha256(f"{record_version()}|{path}".encode()).hexdigest()
        kept = cache.get(key)
        if kept is not None:
            content, content_type, disposition = kept
            response = HttpResponse(content, content_type=content_type)
            if disposition:
                response["Content-Disposition"] = disposition
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            kept = (response.content, response["Content-Type"], response.get("Content-Disposition"))
            cache.set(key, kept, PAGE_CACHE_SECONDS)
        return response

    return wrapper
