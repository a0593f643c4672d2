"""A real `celery worker` renders pages found out of date after a write, and the next visitor
gets the new page from the shared cache (sources/pages.py, stale-while-revalidate)."""

import os

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache

from kp_tracker.celery import app as celery_app
from sources import pages
from tests.factories import LetterFactory
from tests.notifications.conftest import Worker, database_url, wait_for


@pytest.fixture
def page_worker(tmp_path, settings):
    """A worker on this process's broker, cache and (committed) test database."""
    settings.PAGE_STALE_SECONDS = 30
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    broker = celery_app.conf.broker_url
    redis.Redis.from_url(broker).delete(celery_app.conf.task_default_queue)
    worker = Worker(
        {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kp_tracker.settings",
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker,
            "CACHE_URL": django_settings.CACHES["default"]["LOCATION"],
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONUNBUFFERED": "1",
        },
        tmp_path / "worker.log",
    )
    worker.start()
    yield worker
    worker.stop()
    celery_app.conf.task_always_eager = eager


@pytest.mark.django_db(transaction=True)
def test_a_worker_renders_the_page_a_visitor_found_out_of_date(client, page_worker):
    assert "django_redis" in django_settings.CACHES["default"]["BACKEND"]
    letter = LetterFactory(subject="The chair writes to participants")
    url = f"/letters/{letter.slug}/"
    assert client.get(url)["X-Page-Cache"] == "miss"

    letter.subject = "The chair calls it an impasse"
    letter.save()
    stale = client.get(url)
    assert stale["X-Page-Cache"] == "stale"
    assert "writes to participants" in stale.content.decode()

    def rendered_again():
        response = client.get(url)
        return response if response["X-Page-Cache"] == "hit" else None

    fresh = wait_for(rendered_again, 30, "the worker to render the page again", every=0.1)
    assert "calls it an impasse" in fresh.content.decode()
    assert "sources.refresh_page" in page_worker.output()
    # What the worker kept is what a request renders.
    cache.delete(pages._page_key(url))
    here = client.get(url)
    assert here["X-Page-Cache"] == "miss"
    assert fresh.content == here.content
