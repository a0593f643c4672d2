"""Secretariat editor versus viewer, on every form and on the new pages; staff login lockout."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.admin.formdata import admin_page_data
from tests.factories import FACTORIES

pytestmark = pytest.mark.django_db

RECORD_MODELS = sorted(
    (
        model
        for model in admin.site._registry
        if model._meta.app_label in {"sources", "participants", "meetings", "proposals"}
    ),
    key=lambda model: model._meta.label,
)


def change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda model: model._meta.label)
def test_viewer_sees_no_save_button_and_gets_403_on_post(viewer_client, editor_client, model):
    record = FACTORIES[model]()
    url = change_url(record)

    page = viewer_client.get(url)

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert 'name="_save"' in editor_client.get(url).content.decode()
    data = admin_page_data(editor_client.get(url))
    assert viewer_client.post(url, data).status_code == 403
    assert model._default_manager.get(pk=record.pk).lock_version == record.lock_version


# Login lockout (django-axes)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="clerk", password="correct horse battery", is_staff=True
    )


def log_in(client: Client, password: str):
    return client.post(
        reverse("admin:login"),
        {"username": "clerk", "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR="203.0.113.7",
    )


def test_nth_failed_login_locks_out_and_the_right_password_is_then_refused(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        response = log_in(client, "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert response.context["form"].errors

    assert log_in(client, "wrong").status_code == 429  # the third failure locks

    response = log_in(client, "correct horse battery")
    assert response.status_code == 429
    assert "Too many failed logins: after 3 of them" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302  # still to the login page


def test_a_successful_login_resets_the_count(settings, staff):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    log_in(client, "wrong")
    log_in(client, "wrong")
    assert log_in(client, "correct horse battery").status_code == 302
    client.logout()
    log_in(client, "wrong")
    log_in(client, "wrong")
    assert log_in(client, "correct horse battery").status_code == 302


def test_lockout_is_per_user_at_an_address(settings, staff, django_user_model):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    log_in(client, "wrong")
    assert log_in(client, "wrong").status_code == 429
    # Another staff member at the same address still logs in.
    django_user_model.objects.create_user(
        username="other", password="pass phrase 42", is_staff=True
    )
    response = Client().post(
        reverse("admin:login"),
        {"username": "other", "password": "pass phrase 42", "next": reverse("admin:index")},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({}, "5 [['username', 'ip_address']] 0:30:00"),
        (
            {
                "AXES_FAILURE_LIMIT": "3",
                "AXES_COOLOFF_MINUTES": "90",
                "AXES_LOCKOUT_BY": "ip_address,username+user_agent",
            },
            "3 ['ip_address', ['username', 'user_agent']] 1:30:00",
        ),
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT must be at least 1."),
        ({"AXES_FAILURE_LIMIT": "many"}, "AXES_FAILURE_LIMIT must be an integer"),
    ],
)
def test_lockout_is_configured_from_the_environment(environment, expected):
    code = (
        "from kp_tracker import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_LOCKOUT_PARAMETERS, s.AXES_COOLOFF_TIME)"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AXES_") and key != "DJANGO_SETTINGS_MODULE"
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, **environment},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=False,
    )
    assert expected in result.stdout + result.stderr
