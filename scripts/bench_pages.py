#!/usr/bin/env python
"""Benchmark the public pages on the synthetic record against a bare Django template view.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python scripts/bench_pages.py
        [--generate] [--runs 30] [--gunicorn] [--markdown]

Each page kind is requested beside a bare template view (the floor): a view rendering a small
template with no query. Both go through the whole Django stack (middleware, URL resolution, the
database connection kept open as in production), through Django's test client by default or,
with --gunicorn, over HTTP to a gunicorn server (one sync worker, keep-alive client). A real
`celery worker` runs beside them to render the pages found out of date, as deployed. Each page
is measured three ways (see measure()): served current from the page cache; right after a
write, when the kept copy is out of date; and cold, for a path nobody had asked for. The target
is every page within 3x of the floor.

The database should hold the real record and the synthetic one (`manage.py load_kp_record` and
`manage.py generate_synthetic_record`); --generate creates the synthetic record when missing.
The page cache is emptied at the start.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kp_tracker.settings")
# The benchmark measures the pages, not the debug toolbar of errors or the API's throttle.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402

from scripts import machine, worker  # noqa: E402

FLOOR_TEMPLATE = engines["django"].from_string(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>'
    "</head><body><main><h1>{{ title }}</h1><p>A bare template view.</p></main></body></html>"
)


FLOOR = "/__floor__/"


def floor(request):
    return HttpResponse(FLOOR_TEMPLATE.render({"title": "KP Tracker"}, request))


# This module is the URLconf of the run: the floor beside the whole site.
urlpatterns = [
    path("__floor__/", floor),
    path("", include("kp_tracker.urls")),
]


def page_urls() -> list[tuple[str, str]]:
    """One URL per page kind, detail pages on the synthetic record's biggest instances."""
    from meetings.models import Meeting
    from participants.models import Observer, Participant
    from proposals.models import Decision, Letter, Position, Proposal
    from proposals.synthetic import SOURCE_KEY

    objection = Q(positions__stance=Position.Stance.OBJECTION)
    meeting = (
        Meeting.objects.annotate(n=Count("agenda_items"))
        .order_by("-n", "pk")
        .values_list("slug", "start_date", "kind")
        .first()
    )
    participant = (
        Participant.objects.annotate(n=Count("positions", filter=objection))
        .order_by("-n", "pk")
        .values_list("code", flat=True)
        .first()
    )
    decision = (
        Decision.objects.filter(outcome=Decision.Outcome.BLOCKED, agenda_item__isnull=False)
        .order_by("-pk")
        .values_list("slug", flat=True)
        .first()
    )
    proposal = (
        Proposal.objects.annotate(n=Count("letters"))
        .order_by("-n", "pk")
        .values_list("slug", flat=True)
        .first()
    )
    letter = Letter.objects.order_by("-date", "-pk").values_list("slug", flat=True).first()
    observer = Observer.objects.order_by("pk").values_list("code", flat=True).first()
    slug, start, kind = meeting
    return [
        ("home", "/"),
        ("search", "/search/?q=diamonds"),
        ("meetings index", "/meetings/"),
        ("meetings index, filtered", f"/meetings/?year={start.year}&kind={kind}"),
        ("meeting", f"/meetings/{slug}/"),
        ("participants index", "/participants/"),
        ("participant", f"/participants/{participant}/"),
        ("observer", f"/observers/{observer}/"),
        ("proposals index", "/proposals/"),
        ("proposal", f"/proposals/{proposal}/"),
        ("decisions index", "/decisions/"),
        ("decision", f"/decisions/{decision}/"),
        ("letters archive", "/letters/"),
        ("letters, full-text search", "/letters/?q=diamonds"),
        ("letters, filtered", f"/letters/?year={start.year}&author={participant}"),
        ("letter", f"/letters/{letter}/"),
        ("timeline", "/timeline/"),
        ("chart: objections", "/charts/objections/"),
        ("chart: co-objections", "/charts/co-objections/"),
        ("chart: items removed", "/charts/removed-items/"),
        ("sources", "/sources/"),
        ("source", f"/sources/{SOURCE_KEY}/"),
    ]


class TestClientFetcher:
    label = "Django test client, in process"

    def __init__(self) -> None:
        self.client = Client()

    def __call__(self, url: str) -> tuple[int, int, str | None]:
        response = self.client.get(url)
        return response.status_code, len(response.content), response.get("X-Page-Cache")

    def close(self) -> None:
        pass


class GunicornFetcher:
    label = "gunicorn (1 sync worker), HTTP/1.1 keep-alive client"

    def __init__(self, port: int = 8799) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kp_tracker.settings"}
        env["BENCH_PAGES_URLCONF"] = "1"
        self.port = port
        self.server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--no-control-socket",
                "--log-level",
                "warning",
                "scripts.bench_pages:application",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                self.connection.request("GET", "/__floor__/")
                self.connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise
                time.sleep(0.2)

    def __call__(self, url: str) -> tuple[int, int, str | None]:
        self.connection.request("GET", url, headers={"Host": "127.0.0.1"})
        response = self.connection.getresponse()
        return response.status, len(response.read()), response.getheader("X-Page-Cache")

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


def _wsgi():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


# For --gunicorn: the server imports this module, so its URLconf is the floor beside the site.
if os.environ.get("BENCH_PAGES_URLCONF"):
    settings.ROOT_URLCONF = __name__
    application = _wsgi()


COLD, WARM, AFTER_WRITE = "cold", "warm", "after a write"
# The page cache is shared (Redis) and outlives a run: cold paths are new to every run.
RUN = uuid.uuid4().hex[:8]
# The page cache's answer each mode is meant to measure (the X-Page-Cache header).
EXPECTED = {COLD: "miss", WARM: "hit", AFTER_WRITE: "stale"}


def measure(fetch, url: str, runs: int, *, mode: str, warmup: int = 3) -> dict:
    """Median and 90th percentile of `runs` requests of `url`, each run beside a request of the
    floor, so that both see the same moment of a shared machine; the ratio is of the medians.

    Cold: every request has a path of its own (an ignored `_bench` parameter), so the page
    cache never answers and each is rendered: what a page nobody has asked for costs. Warm: the
    same path each time, answered from the page cache after the first. After a write: before
    each request the record's version moves, as every write moves it, so the kept page is out
    of date; the request gets the kept copy while the worker renders the page again, and the
    next write waits until it has (writes are far apart next to renderings)."""

    def path(n: int) -> str:
        if mode != COLD:
            return url
        return f"{url}{'&' if '?' in url else '?'}_bench={RUN}-{n}"

    size = 0
    for n in range(warmup):
        status, size, _ = fetch(path(-1 - n))
        if status != 200:
            raise SystemExit(f"{url} answered {status}")
        fetch(FLOOR)
    timings, floors, unexpected = [], [], 0
    for n in range(runs):
        if mode == AFTER_WRITE:
            record_changed()
        started = time.perf_counter()
        fetch(FLOOR)
        between = time.perf_counter()
        _, _, state = fetch(path(n))
        floors.append((between - started) * 1000)
        timings.append((time.perf_counter() - between) * 1000)
        unexpected += state != EXPECTED[mode]
        if mode == AFTER_WRITE:
            _wait_for_the_worker(fetch, url)
    median, floor_median = statistics.median(timings), statistics.median(floors)
    return {
        "median": median,
        "p90": _percentile(timings, 0.9),
        "floor": floor_median,
        "ratio": median / floor_median,
        "size": size,
        "unexpected": unexpected,
    }


def _wait_for_the_worker(fetch, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while fetch(url)[2] != "hit":
        if time.monotonic() > deadline:
            raise SystemExit(f"No worker rendered {url} again within {timeout} s.")
        time.sleep(0.02)


class CeleryWorker:
    """A `celery worker` (solo pool, as one worker process of a deployment) on the same
    database and Redis, which renders the pages found out of date."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [*worker.COMMAND, "--loglevel=WARNING"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "kp_tracker.settings"},
            stdout=subprocess.DEVNULL,  # its banner; --markdown prints the table on stdout
        )

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def record_changed() -> None:
    from sources.pages import record_changed as move_the_version

    move_the_version()


def queries(url: str) -> int:
    """Queries of one rendering (a path the page cache has not seen)."""
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        client.get(f"{url}{'&' if '?' in url else '?'}_bench={RUN}-queries")
    return len(captured.captured_queries)


def record_size() -> str:
    from meetings.models import AgendaItem, Meeting
    from proposals.models import Decision, Letter, Position

    return (
        f"{Meeting.objects.count():,} meetings, {AgendaItem.objects.count():,} agenda items, "
        f"{Decision.objects.count():,} decisions, {Position.objects.count():,} positions, "
        f"{Letter.objects.count():,} letters"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--generate", action="store_true", help="Create the synthetic record.")
    parser.add_argument("--gunicorn", action="store_true", help="Measure over HTTP, gunicorn.")
    parser.add_argument("--markdown", action="store_true", help="Print a Markdown table.")
    args = parser.parse_args()

    from proposals import synthetic

    if connection.vendor != "postgresql":
        print("bench_pages: the figures are meant for PostgreSQL; DATABASE_URL is not one.")
    if not synthetic.exists():
        if not args.generate:
            raise SystemExit(
                "No synthetic record in this database: run manage.py generate_synthetic_record "
                "(and load_kp_record), or pass --generate."
            )
        from django.core.management import call_command

        call_command("load_kp_record")
        call_command("generate_synthetic_record", "--no-progress")

    urls = page_urls()
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("bench_pages: set REDIS_URL; the pages after a write need a worker.")
    cache.clear()  # pages kept by an earlier run, at an earlier version of the record
    celery_worker = CeleryWorker()
    with override_settings(ROOT_URLCONF=__name__):
        fetch = GunicornFetcher() if args.gunicorn else TestClientFetcher()
        try:
            header = (
                f"{machine.describe()}; {record_size()}; {fetch.label}; {args.runs} runs per page"
            )
            print(f"# {datetime.date.today():%d %B %Y}: {header}", file=sys.stderr)
            rows, floors = [], []
            for name, url in urls:
                stats = {mode: measure(fetch, url, args.runs, mode=mode) for mode in EXPECTED}
                stats["queries"] = queries(url)
                floors += [stats[mode]["floor"] for mode in EXPECTED]
                rows.append((name, url, stats))
                print(
                    f"{name:26} "
                    + "  ".join(
                        f"{mode} {stats[mode]['median']:7.2f} ms {stats[mode]['ratio']:5.1f}x"
                        + (
                            f" ({stats[mode]['unexpected']} not {EXPECTED[mode]})"
                            if stats[mode]["unexpected"]
                            else ""
                        )
                        for mode in EXPECTED
                    )
                    + f"  {stats['queries']:3d} queries  {url}",
                    file=sys.stderr,
                )
        finally:
            fetch.close()
            celery_worker.close()
    floor_median = statistics.median(floors)
    print(f"{'floor':26} {floor_median:7.2f} ms", file=sys.stderr)
    within = {
        mode: sum(1 for _, _, s in rows if s[mode]["ratio"] <= 3 and not s[mode]["unexpected"])
        for mode in EXPECTED
    }
    summary = (
        f"Within 3x of the floor: {within[WARM]} of {len(rows)} pages served current from the "
        f"page cache, {within[AFTER_WRITE]} of {len(rows)} right after a write, "
        f"{within[COLD]} of {len(rows)} rendered for a path nobody had asked for."
    )
    print(summary, file=sys.stderr)
    if args.markdown:
        print(f"Measured {datetime.date.today():%d %B %Y}: {header}.\n")
        print(
            "Floor (bare template view), measured beside each page: median of the medians "
            f"{floor_median:.2f} ms.\n"
        )
        print(
            "| Page | URL | Cached: median ms | x floor | After a write: median ms | 90th pct "
            "| x floor | Cold: median ms | 90th pct | x floor | Queries | KB |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, url, s in rows:
            warm, after, cold = s[WARM], s[AFTER_WRITE], s[COLD]
            print(
                f"| {name} | `{url}` | {warm['median']:.2f} | {warm['ratio']:.1f} "
                f"| {after['median']:.2f} | {after['p90']:.2f} | {after['ratio']:.1f} "
                f"| {cold['median']:.1f} | {cold['p90']:.1f} | {cold['ratio']:.0f} "
                f"| {s['queries']} | {cold['size'] / 1024:.0f} |"
            )
        print(f"\n{summary}")


if __name__ == "__main__":
    main()
