"""End to end, with a real Redis and a real Celery worker process: changes to the record reach
e-mail subscribers and webhook receivers once, through worker deaths, Redis outages and
failing receivers."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.models import Delivery, Event, Subscription, WebhookEndpoint
from tests.factories import MeetingFactory
from tests.notifications.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def follower(email: str, **kwargs) -> Subscription:
    return Subscription.objects.create(email=email, confirmed_at=timezone.now(), **kwargs)


def endpoint(receiver, path: str, **kwargs) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=receiver.url + path, **kwargs)


def sent(expected: int, **filters):
    """A condition: at least `expected` deliveries (of events matching `filters`) sent."""

    def check() -> bool:
        deliveries = Delivery.objects.filter(status=Delivery.Status.SENT, **filters)
        return deliveries.count() >= expected

    return check


def verified(hook: WebhookEndpoint, request) -> dict:
    """What a receiver does: check the signature with the endpoint's secret, then parse."""
    return Webhook(hook.secret).verify(request.body, request.headers)


class FormFields(HTMLParser):
    """The values a browser would submit from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "file", "image"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value", "on"))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data) -> None:
        if self._textarea:
            self.data[self._textarea][0] += data


def admin_form(client, url: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    parser = FormFields()
    parser.feed(response.content.decode())
    return parser.data


def test_meeting_moved_in_the_admin_reaches_email_and_webhook_signed(
    worker, receiver, mailbox, client
):
    meeting = MeetingFactory(
        start_date=datetime.date(2030, 6, 20), end_date=datetime.date(2030, 6, 24)
    )
    subscriber = follower("delegate@example.org", target="meeting", meeting=meeting)
    hook = endpoint(receiver, "/hooks/meeting", target="meeting", meeting=meeting)
    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(admin)

    url = f"/admin/meetings/meeting/{meeting.pk}/change/"
    data = admin_form(client, url)
    data["start_date"], data["end_date"] = ["2030-07-01"], ["2030-07-03"]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]

    wait_for(sent(2, event__kind="meeting.dates_changed"), 20, "the e-mail and the webhook")
    event = Event.objects.get(kind=Event.Kind.MEETING_DATES_CHANGED)
    delivery = Delivery.objects.get(event=event, subscription=subscriber)

    (message,) = [m for m in mailbox.to("delegate@example.org") if "changed" in m["Subject"]]
    assert message["Message-ID"] == delivery.message_id
    assert "now 1–3 July 2030 (was 20–24 June 2030)" in message["Subject"]
    assert message["List-Unsubscribe"].strip() == f"<{subscriber.unsubscribe_url}>"
    assert subscriber.unsubscribe_url in message.get_content()

    (request,) = [
        r for r in receiver.to("/hooks/meeting") if r.json["data"]["event_id"] == event.pk
    ]
    body = verified(hook, request)
    webhook = Delivery.objects.get(event=event, endpoint=hook)
    assert request.headers["webhook-id"] == webhook.webhook_id
    assert body["type"] == "meeting.dates_changed"
    assert body["data"]["meeting"]["start_date"] == "2030-07-01"
    assert body["data"]["old_dates"] == {"start_date": "2030-06-20", "end_date": "2030-06-24"}
