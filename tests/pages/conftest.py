"""Fixtures of the public pages' tests: the real record, and the real record beside a small
synthetic one (the "larger" data on which query counts must stay the same).

Playwright's sync API leaves an event loop running in the test process, after which Django
refuses ORM calls from "async" code unless told otherwise (../shared/RECIPES.md). Set it before
any browser starts, for the whole run.
"""

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from contextlib import contextmanager

import pytest
from django.db import transaction
from django.test import override_settings

from proposals import synthetic
from proposals.record import load_record

# Small enough to build in a second or two, big enough that every list outgrows the pages'
# limits somewhere (a meeting with more decisions than it lists, a participant with dozens of
# objections, letters by the hundred).
LARGER = synthetic.Sizes(meetings=6, participants=24, agenda_items=90, decisions=420, letters=240)


@contextmanager
def _loaded_then_rolled_back(django_db_blocker, load):
    """Load once, inside a transaction that is rolled back at the end: each test's own
    transaction (pytest-django's `db`) is then a savepoint within it, so tests see the loaded
    record, undo their own changes, and nothing outlives the module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load()
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _real_record(django_db_setup, django_db_blocker):
    with _loaded_then_rolled_back(django_db_blocker, load_record):
        yield


@pytest.fixture(scope="module")
def _larger_record(django_db_setup, django_db_blocker):
    def load():
        load_record()
        synthetic.generate(sizes=LARGER, seed=7)

    with _loaded_then_rolled_back(django_db_blocker, load):
        yield


@pytest.fixture
def record(_real_record, db):
    """The real record, loaded once per module."""


@pytest.fixture
def larger_record(_larger_record, db):
    """The real record beside a small synthetic one, loaded once per module."""


@pytest.fixture(scope="session")
def _whitenoise_autorefresh():
    # As tests/conftest.py does per test, but before the session's live server builds its
    # middleware: WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet.
    with override_settings(WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(scope="session")
def live_server(_whitenoise_autorefresh, live_server):
    return live_server
