"""Helpers every app's public pages share: numbered citations of sources, links to the same data
in the REST API, pagination, and the page cache.

Sources live in this app, and every other app depends on it, so the helpers that cite sources
live here too. The citation helpers query nothing: callers hand in objects whose `sources` were
prefetched by their selectors. The page cache reads and writes the record's version row.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone

from sources.models import RecordVersion, Source

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
# record changes rarely, so a rendered page is kept, in the shared cache (settings.CACHES), with
# the record's version it was rendered at, and served again while that version is current.
#
# The version is a token in one database row (`RecordVersion`), replaced by every write to the
# record's models inside the writing transaction: a page is never kept as current with rows
# older than its token, whichever process or machine wrote them, and a lost cache (a Redis
# restart or outage) can never make an old page look current.
#
# After a write every kept page is out of date. Rendering it again costs tens to hundreds of
# milliseconds on a large record, so the visitor who finds it out of date is not made to wait:
# they get the copy kept before the write, and a Celery task renders the page again in the
# background (stale-while-revalidate, as HTTP caches do, RFC 5861); the next visitor gets the
# new page. The old copy is served for PAGE_STALE_SECONDS at most after the first visitor found
# it out of date: if no worker has rendered it by then, the page is rendered in the request.
# It is never served when the new one cannot be rendered in the background (Celery eager, as in
# `make run`) nor to someone logged in, so an editor always sees their change at once.
# (PAGE_CACHE_SECONDS and PAGE_STALE_SECONDS are read from settings per request, so tests can
# change them; PAGE_STALE_SECONDS = 0 never serves an out-of-date copy.)
RECORD_APPS = frozenset({"sources", "participants", "meetings", "proposals"})
# Set on the request a refresh task renders: render and keep, whatever is kept now.
_REFRESHING = "_page_cache_refreshing"
# One indexed read of one row, run on every page view: raw SQL spares the ORM's compilation,
# a third of the read's cost.
_SELECT_VERSION = (
    f"SELECT token FROM {RecordVersion._meta.db_table} WHERE id = {RecordVersion.SINGLETON}"
)

logger = logging.getLogger(__name__)


def record_version() -> str:
    """The record's current version token."""
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_VERSION)
        row = cursor.fetchone()
    # A database emptied by `flush` (as transactional tests do) has lost the row.
    return row[0] if row is not None else record_changed()


def record_changed() -> str:
    """Move the record to a new version, in the current transaction; every kept page is then out
    of date. Returns the new token."""
    token, now = uuid.uuid4().hex, timezone.now()
    if not RecordVersion.objects.filter(pk=RecordVersion.SINGLETON).update(
        token=token, changed_at=now
    ):
        RecordVersion.objects.bulk_create(
            [RecordVersion(pk=RecordVersion.SINGLETON, token=token, changed_at=now)],
            ignore_conflicts=True,
        )
    return token


def _model_written(sender, action: str = "post", **kwargs) -> None:
    if (
        sender._meta.app_label in RECORD_APPS
        and sender is not RecordVersion
        and not action.startswith("pre_")  # m2m_changed: the post_ signal follows
        and not hasattr(sender, "instance_type")  # a history row, beside the row it records
    ):
        record_changed()


for _signal in (post_save, post_delete, m2m_changed):
    _signal.connect(_model_written, dispatch_uid=f"pages-cache-{_signal!r}")


def _page_key(path: str) -> str:
    return "pages:" + hashlib.sha256(path.encode()).hexdigest()


class _KeptResponse(HttpResponse):
    """A kept page. Served out of date, it asks for the page's rendering on close(), which the
    WSGI server calls once the response is sent: the visitor does not wait for the broker."""

    refresh_path: str | None = None
    refresh_claim: str | None = None

    def close(self) -> None:
        super().close()
        if self.refresh_path is None:
            return
        from sources.tasks import refresh_page

        try:
            # No retries: a visitor is waiting on this connection for their next request.
            refresh_page.apply_async((self.refresh_path,), retry=False)
        except Exception:
            # Nobody will render it: mark the claim as long expired, so the next visitor gets
            # the page rendered in the request rather than this copy again.
            logger.warning("Could not ask for a page's refresh.", exc_info=True)
            cache.set(self.refresh_claim, 0.0, settings.PAGE_CACHE_SECONDS)


def _kept_response(kept: tuple, state: str) -> _KeptResponse:
    _version, content, content_type, disposition = kept
    response = _KeptResponse(content, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    response["X-Page-Cache"] = state
    return response


def _stale_response(request: HttpRequest, key: str, kept: tuple) -> _KeptResponse | None:
    """The out-of-date copy kept under `key`, when it may be served while a Celery worker
    renders the page again (asked for by the first visitor to find it out of date); None when
    the page is to be rendered in this request."""
    from sources.tasks import refresh_page

    if (
        settings.PAGE_STALE_SECONDS <= 0
        or refresh_page.app.conf.task_always_eager
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    ):
        return None
    claim, now = f"{key}:refresh", time.time()
    if cache.add(claim, now, settings.PAGE_CACHE_SECONDS):
        response = _kept_response(kept, "stale")
        response.refresh_path, response.refresh_claim = request.get_full_path(), claim
        return response
    claimed_at = cache.get(claim)
    if claimed_at is not None and now - claimed_at < settings.PAGE_STALE_SECONDS:
        return _kept_response(kept, "stale")
    return None


def cached_page(view: Callable) -> Callable:
    """Serve a GET of this view from the page cache (see above). Only complete 200 responses are
    kept: their body, content type and, for downloads, their Content-Disposition. The
    X-Page-Cache header says how the response was made: hit, stale or miss (rendered)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        refreshing = getattr(request, _REFRESHING, False)
        key = _page_key(request.get_full_path())
        version = record_version()
        kept = cache.get(key)
        if kept is not None:
            if kept[0] == version:  # current (for a refresh: someone rendered it meanwhile)
                return _kept_response(kept, "hit")
            stale = None if refreshing else _stale_response(request, key, kept)
            if stale is not None:
                return stale
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            if kept is not None:  # the page is gone since it was kept: forget it
                cache.delete_many([key, f"{key}:refresh"])
            raise
        if response.status_code == 200 and not response.streaming:
            content_type, disposition = (
                response["Content-Type"],
                response.get("Content-Disposition"),
            )
            cache.set(
                key,
                (version, response.content, content_type, disposition),
                settings.PAGE_CACHE_SECONDS,
            )
            if kept is not None:
                cache.delete(f"{key}:refresh")
        elif kept is not None:  # it no longer renders (an error): forget the kept copy
            cache.delete_many([key, f"{key}:refresh"])
        response["X-Page-Cache"] = "miss"
        return response

    return wrapper


def refresh(path: str) -> None:
    """Render the page at `path` (a path and query string, as `request.get_full_path()` gives
    it) and keep it, as the request that found it out of date would have."""
    split = urlsplit(path)
    try:
        match = resolve(unquote(split.path))
    except Resolver404:
        return
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = unquote(split.path)
    request.META = {"QUERY_STRING": split.query, "SERVER_NAME": "refresh", "SERVER_PORT": "80"}
    request.GET = QueryDict(split.query)
    setattr(request, _REFRESHING, True)
    try:
        match.func(request, *match.args, **match.kwargs)
    except Http404:
        pass  # gone since it was kept; the wrapper has forgotten it
