"""The Secretariat's view of notifications in the admin."""

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Delivery, Event, Subscription, WebhookEndpoint
from tests.factories import LetterFactory

pytestmark = pytest.mark.django_db


def test_an_editor_registers_a_webhook_endpoint_with_a_generated_secret(editor_client):
    form = editor_client.get("/admin/notifications/webhookendpoint/add/")
    assert form.status_code == 200
    secret = form.context["adminform"].form["secret"].value()  # generated for the form
    response = editor_client.post(
        "/admin/notifications/webhookendpoint/add/",
        {
            "url": "https://receiver.example.org/kp",
            "description": "Our tracker",
            "target": "all",
            "secret": secret,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 6 + 32
    assert endpoint.created_by.username == "secretariat-editor"


def test_viewers_see_what_was_sent_but_not_addresses_or_secrets(viewer_client):
    assert viewer_client.get("/admin/notifications/delivery/").status_code == 200
    assert viewer_client.get("/admin/notifications/event/").status_code == 200
    assert viewer_client.get("/admin/notifications/subscription/").status_code == 403
    assert viewer_client.get("/admin/notifications/webhookendpoint/").status_code == 403


def test_failed_deliveries_are_listed_with_a_fixed_number_of_queries(
    editor_client, django_assert_max_num_queries
):
    now = timezone.now()
    Subscription.objects.bulk_create(
        Subscription(email=f"r{n}@example.org", confirmed_at=now) for n in range(20)
    )
    LetterFactory()
    services.fan_out(event_id=Event.objects.get().pk)
    Delivery.objects.update(status=Delivery.Status.FAILED, last_error="HTTP 503")
    # Queries: session, user, permissions (2), count, filtered count, the page of deliveries
    # (event, subscription, user and endpoint joined), and the savepoint pair for the action
    # form; the same whatever the number of rows.
    with django_assert_max_num_queries(10):
        response = editor_client.get("/admin/notifications/delivery/?status__exact=failed")
    assert response.status_code == 200
    assert response.content.decode().count("HTTP 503") == 20
