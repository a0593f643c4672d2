"""Fixtures shared across the suite. Objects come from tests/factories.py."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from kp_tracker.groups import EDITOR_GROUP, VIEWER_GROUP


@pytest.fixture(autouse=True)
def _no_collectstatic_needed(settings):
    # WhiteNoise warns (an error here: filterwarnings = error) when STATIC_ROOT does not exist,
    # as on a fresh checkout before collectstatic. In autorefresh mode it looks files up per
    # request instead, which is all the tests need.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _pages_never_stale(settings):
    """Outside the page cache's own tests, a page read after a write shows the write: no test
    runs a worker to render out-of-date pages again (tests/pages/test_cache.py does)."""
    settings.PAGE_STALE_SECONDS = 0


@pytest.fixture(autouse=True)
def _empty_cache():
    """The cache (Redis, shared with worker processes) outlives each test's rolled-back
    transaction: without emptying it, a test would be served pages rendered from another
    test's rows, or inherit its throttle counts."""
    cache.clear()
    yield
    cache.clear()


def _secretariat_client(django_user_model, group_name: str) -> Client:
    user = django_user_model.objects.create_user(
        username=group_name.lower().replace(" ", "-"), is_staff=True
    )
    # The groups and their permissions come from the migrations, as in production.
    user.groups.add(Group.objects.get(name=group_name))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(db, django_user_model) -> Client:
    """Logged in as staff in the Secretariat editor group."""
    return _secretariat_client(django_user_model, EDITOR_GROUP)


@pytest.fixture
def viewer_client(db, django_user_model) -> Client:
    """Logged in as staff in the Secretariat viewer group."""
    return _secretariat_client(django_user_model, VIEWER_GROUP)
