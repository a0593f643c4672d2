"""The page cache (sources/pages.py): a page is rendered once per version of the record; a write
to the record moves the version in its own transaction; after a write a visitor gets the page
kept before it while a Celery task renders the new one (stale-while-revalidate), for
PAGE_STALE_SECONDS at most; an editor, or a set-up with nothing to render in the background,
gets the new page at once. The worker that renders it is real: test_cache_worker.py."""

import json
import time
from base64 import b64decode

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction

from kp_tracker.celery import app as celery_app
from participants.models import Participant
from proposals.consensus import engine
from proposals.models import Decision, Letter
from sources import pages
from sources.models import RecordVersion
from sources.pages import record_version

pytestmark = pytest.mark.django_db

URL = "/letters/2022-06-09-kp-chair/"


def rename_letter(subject: str) -> None:
    letter = Letter.objects.get(slug="2022-06-09-kp-chair")
    letter.subject = subject
    letter.save()


def queued_refreshes() -> list[list]:
    """The refresh_page messages waiting on the suite's real Redis broker (nobody consumes the
    queue here)."""
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    found = []
    for raw in broker.lrange(celery_app.conf.task_default_queue, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "sources.refresh_page":
            args, _kwargs, _embed = json.loads(b64decode(message["body"]))
            found.append(args)
    return found


@pytest.fixture
def empty_queue():
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    broker.delete(celery_app.conf.task_default_queue)
    yield
    broker.delete(celery_app.conf.task_default_queue)


@pytest.fixture
def stale_while_revalidate(settings, empty_queue):
    """As deployed: Celery workers on a real broker render out-of-date pages again."""
    settings.PAGE_STALE_SECONDS = 30
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    yield
    celery_app.conf.task_always_eager = eager


# --- Current pages --------------------------------------------------------------------------


def test_a_page_seen_again_runs_one_query_for_the_records_version(
    client, record, django_assert_num_queries
):
    first = client.get(URL)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1) as captured:
        again = client.get(URL)
    assert RecordVersion._meta.db_table in captured.captured_queries[0]["sql"]
    assert again["X-Page-Cache"] == "hit"
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


def test_a_change_to_the_record_shows_at_once_without_stale_copies(client, record):
    client.get(URL)
    version = record_version()
    rename_letter("The KP Chair calls it an impasse")
    assert record_version() != version
    response = client.get(URL)
    assert response["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in response.content.decode()


def test_a_many_to_many_change_shows_at_once(client, record):
    assert 'href="/participants/ZW/"' not in client.get(URL).content.decode()
    Letter.objects.get(slug="2022-06-09-kp-chair").authors.add(Participant.objects.get(code="ZW"))
    assert 'href="/participants/ZW/"' in client.get(URL).content.decode()


def test_downloads_keep_their_file_name_from_the_cache(client, record):
    first = client.get("/charts/objections.csv")
    again = client.get("/charts/objections.csv")
    assert again["X-Page-Cache"] == "hit"
    assert again["Content-Disposition"] == first["Content-Disposition"]
    assert again.content == first.content


def test_errors_are_not_kept(client, record):
    assert client.get("/letters/no-such-letter/").status_code == 404
    Letter.objects.filter(slug="2022-06-09-kp-chair").update(slug="no-such-letter")
    # update() sends no signal; the 404 was never cached, so the letter is found.
    assert client.get("/letters/no-such-letter/").status_code == 200


# --- The version ----------------------------------------------------------------------------


def test_a_rolled_back_write_leaves_the_version_as_it_was(record):
    version = record_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        rename_letter("Never saved")
        assert record_version() != version  # the writing transaction sees its own version
        raise RuntimeError
    assert record_version() == version


def test_writes_that_send_no_signal_still_move_the_version(record):
    """The engine writes outcomes by UPDATE; the synthetic generator writes by bulk_create."""
    decision = Decision.objects.get(slug="2023-plenary-ukraine-item")
    version = record_version()
    Decision.objects.filter(pk=decision.pk).update(outcome=Decision.Outcome.ADOPTED)
    assert record_version() == version  # an UPDATE alone is invisible to the cache...
    assert engine.recompute(Decision.objects.filter(pk=decision.pk)) == 1
    assert record_version() != version  # ...the engine's own writes are not


def test_a_lost_version_row_is_made_again(record):
    RecordVersion.objects.all().delete()
    token = record_version()
    assert RecordVersion.objects.get().token == token
    assert record_version() == token


def test_the_database_keeps_one_version_row(record):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        RecordVersion.objects.bulk_create(
            [RecordVersion(id=2, token="x", changed_at=RecordVersion.objects.get().changed_at)]
        )


# --- Stale while revalidate -----------------------------------------------------------------


def test_after_a_write_the_kept_page_is_served_and_rendered_again_in_the_background(
    client, record, stale_while_revalidate, django_assert_max_num_queries
):
    before = client.get(URL).content
    rename_letter("The KP Chair calls it an impasse")

    with django_assert_max_num_queries(1):
        stale = client.get(URL)
    assert stale["X-Page-Cache"] == "stale"
    assert stale.content == before
    assert queued_refreshes() == [[URL]]

    # A second visitor meanwhile: the same copy, and no second request for a rendering.
    assert client.get(URL)["X-Page-Cache"] == "stale"
    assert queued_refreshes() == [[URL]]

    pages.refresh(URL)  # what the worker does with the message
    fresh = client.get(URL)
    assert fresh["X-Page-Cache"] == "hit"
    assert "calls it an impasse" in fresh.content.decode()

    # The next write asks for a new rendering again.
    rename_letter("The KP Chair calls it a stalemate")
    assert client.get(URL)["X-Page-Cache"] == "stale"
    assert len(queued_refreshes()) == 2


def test_a_refresh_keeps_the_query_string(client, record, stale_while_revalidate):
    url = "/letters/?q=communique&page=1"
    client.get(url)
    rename_letter("The KP Chair calls it an impasse")
    assert client.get(url)["X-Page-Cache"] == "stale"
    assert queued_refreshes() == [[url]]
    pages.refresh(url)
    assert client.get(url)["X-Page-Cache"] == "hit"


def test_a_stale_copy_is_served_for_page_stale_seconds_at_most(
    client, record, stale_while_revalidate
):
    client.get(URL)
    rename_letter("The KP Chair calls it an impasse")
    assert client.get(URL)["X-Page-Cache"] == "stale"
    # No worker has rendered it within the allowed time (workers down, queue lost, ...).
    claim = f"{pages._page_key(URL)}:refresh"
    cache.set(claim, time.time() - django_settings.PAGE_STALE_SECONDS - 1)
    late = client.get(URL)
    assert late["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in late.content.decode()
    assert cache.get(claim) is None
    assert client.get(URL)["X-Page-Cache"] == "hit"


def test_with_the_broker_down_the_next_visitor_gets_the_page_rendered(
    client, record, stale_while_revalidate
):
    from tests.notifications.conftest import free_port, point_celery_at

    client.get(URL)
    rename_letter("The KP Chair calls it an impasse")
    broker = celery_app.conf.broker_url
    point_celery_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        # Served before the refresh is asked for, which fails once the page is sent (close()).
        assert client.get(URL)["X-Page-Cache"] == "stale"
        response = client.get(URL)
    finally:
        point_celery_at(broker)
    assert response["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in response.content.decode()
    assert client.get(URL)["X-Page-Cache"] == "hit"


def test_someone_logged_in_sees_a_change_at_once(editor_client, record, stale_while_revalidate):
    editor_client.get(URL)
    rename_letter("The KP Chair calls it an impasse")
    response = editor_client.get(URL)
    assert response["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in response.content.decode()
    assert queued_refreshes() == []


def test_with_celery_eager_a_change_shows_at_once(client, record, settings, empty_queue):
    """`make run`: no worker would ever render the page again, so it is rendered now."""
    settings.PAGE_STALE_SECONDS = 30
    eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    try:
        client.get(URL)
        rename_letter("The KP Chair calls it an impasse")
        response = client.get(URL)
    finally:
        celery_app.conf.task_always_eager = eager
    assert response["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in response.content.decode()


def test_a_page_gone_since_it_was_kept_is_forgotten(client, record, stale_while_revalidate):
    client.get(URL)
    Letter.objects.get(slug="2022-06-09-kp-chair").delete()
    assert client.get(URL)["X-Page-Cache"] == "stale"
    pages.refresh(URL)  # renders the 404, keeps nothing
    assert cache.get(pages._page_key(URL)) is None
    assert client.get(URL).status_code == 404


def test_a_refresh_of_an_unknown_path_does_nothing(record):
    pages.refresh("/no/such/page/")
    assert cache.get(pages._page_key("/no/such/page/")) is None


# --- A Redis outage -------------------------------------------------------------------------


def test_with_the_cache_down_pages_render_edits_save_and_the_api_answers(client, record, settings):
    from tests.notifications.conftest import free_port

    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",  # nothing listens there
        }
    }
    assert client.get(URL)["X-Page-Cache"] == "miss"
    rename_letter("The KP Chair calls it an impasse")
    response = client.get(URL)
    assert response["X-Page-Cache"] == "miss"
    assert "calls it an impasse" in response.content.decode()
    # The API's throttle counts in the same cache.
    assert client.get("/api/v1/letters/").status_code == 200
