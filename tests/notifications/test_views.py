"""Subscribing, confirming through the signed link, and unsubscribing, by link and one click."""

import re

import pytest
from django.test import Client

from notifications import services, tasks
from notifications.models import Subscription
from tests.factories import MeetingFactory

pytestmark = pytest.mark.django_db


def confirmation_link(mailoutbox) -> str:
    (message,) = mailoutbox
    return re.search(r"http://testserver(/notifications/confirm/\S+/)", message.body).group(1)


def test_an_address_follows_a_meeting_once_it_confirms_through_the_emailed_link(
    client, mailoutbox, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    meeting = MeetingFactory(slug="2022-intersessional-kasane")
    # Queries: the meeting named in the link.
    with django_assert_max_num_queries(1):
        page = client.get(f"/notifications/subscribe/?meeting={meeting.slug}")
    assert page.status_code == 200
    assert "Follow changes to the meeting 2022-intersessional-kasane" in page.content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/notifications/subscribe/",
            {
                "target": "meeting",
                "meeting": meeting.slug,
                "cadence": "daily",
                "email": "Reader@Example.org",
            },
        )
    assert response.status_code == 302 and response["Location"].endswith("check-your-email/")
    assert len(callbacks) == 1  # the confirmation e-mail, enqueued after commit
    subscription = Subscription.objects.get()
    assert (subscription.email, subscription.cadence) == ("reader@example.org", "daily")
    assert not subscription.is_active

    tasks.send_confirmation(subscription.pk)  # what the worker runs
    link = confirmation_link(mailoutbox)
    assert client.get(link).status_code == 200  # a scanner opening the link changes nothing
    subscription.refresh_from_db()
    assert not subscription.is_active

    assert "Confirmed" in client.post(link).content.decode()
    subscription.refresh_from_db()
    assert subscription.is_active


def test_a_tampered_or_stale_confirmation_link_does_not_work(client, mailoutbox):
    subscription = services.subscribe(target="all", cadence="immediate", email="a@example.org")
    tasks.send_confirmation(subscription.pk)
    link = confirmation_link(mailoutbox)
    assert client.post(link[:-3] + "xx/").status_code == 404

    services.unsubscribe(subscription=subscription)
    services.subscribe(target="all", cadence="immediate", email="a@example.org")  # a new token
    assert client.post(link).status_code == 404


def test_a_signed_in_user_follows_at_once(client, django_user_model, mailoutbox):
    user = django_user_model.objects.create_user("reader", "reader@example.org", "pw")
    client.force_login(user)
    response = client.post("/notifications/subscribe/", {"target": "all", "cadence": "immediate"})
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.user == user and subscription.is_active
    assert subscription.address == "reader@example.org"
    assert mailoutbox == []
    assert "everything" in client.get("/notifications/").content.decode()


def test_following_something_not_on_record_is_a_form_error(client):
    response = client.post(
        "/notifications/subscribe/",
        {"target": "meeting", "meeting": "no-such-meeting", "cadence": "daily", "email": "a@b.org"},
    )
    assert response.status_code == 200
    assert "There is no such meeting on record." in response.content.decode()
    assert not Subscription.objects.exists()


def test_unsubscribing_by_link_asks_first_and_mail_clients_can_do_it_in_one_click(
    django_assert_max_num_queries,
):
    subscription = Subscription.objects.create(
        email="a@example.org", confirmed_at="2030-01-01T00:00Z"
    )
    url = f"/notifications/unsubscribe/{subscription.token}/"
    browser = Client(enforce_csrf_checks=True)
    # Queries: the subscription with what it follows joined.
    with django_assert_max_num_queries(1):
        assert browser.get(url).status_code == 200
    subscription.refresh_from_db()
    assert subscription.is_active

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", with no CSRF token.
    response = browser.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and "Unsubscribed" in response.content.decode()
    subscription.refresh_from_db()
    assert not subscription.is_active


def test_an_unknown_unsubscribe_token_is_a_404(client):
    assert client.get("/notifications/unsubscribe/not-a-token/").status_code == 404


def test_someone_typing_in_a_confirmed_address_changes_nothing(mailoutbox):
    subscription = services.subscribe(target="all", cadence="daily", email="a@example.org")
    services.confirm(subscription=subscription)
    again = services.subscribe(target="all", cadence="immediate", email="a@example.org")
    assert again.pk == subscription.pk
    subscription.refresh_from_db()
    assert subscription.cadence == "daily" and subscription.is_active
