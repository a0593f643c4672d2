"""End to end, with a real Redis and a real Celery worker process: changes to the record reach
e-mail subscribers and webhook receivers once, through worker deaths, Redis outages and
failing receivers."""

from __future__ import annotations

import datetime
import time
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import conf, services
from notifications.delivery import CLAIM_CHUNK
from notifications.models import Delivery, Event, Subscription, WebhookEndpoint
from tests.factories import (
    DecisionFactory,
    LetterFactory,
    MeetingFactory,
    ParticipantFactory,
    SourceFactory,
)
from tests.notifications.conftest import Beat, wait_for

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


def editor_api_client():
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from kp_tracker.groups import EDITOR_GROUP

    user = get_user_model().objects.create_user("api-editor", is_staff=True)
    # Transactional tests empty the tables the migrations filled: make the group again.
    user.groups.add(Group.objects.get_or_create(name=EDITOR_GROUP)[0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_objection_posted_through_the_api_reaches_email_and_webhook_signed(
    worker, receiver, mailbox
):
    decision = DecisionFactory(meeting__start_date=datetime.date(2030, 6, 20))
    objector = ParticipantFactory(code="RU", name="Russia")
    source = SourceFactory()
    subscriber = follower("watcher@example.org", target="participant", participant=objector)
    hook = endpoint(receiver, "/hooks/proposal", target="proposal", proposal=decision.proposal)

    response = editor_api_client().post(
        "/api/v1/positions/",
        {
            "decision": decision.slug,
            "participant": "RU",
            "stance": "objection",
            "reason": "Outside the mandate.",
            "sources": [source.key],
        },
        format="json",
    )
    assert response.status_code == 201, response.content

    objection = Event.objects.get(kind=Event.Kind.OBJECTION_RECORDED)
    moved = Event.objects.get(kind=Event.Kind.OUTCOME_CHANGED)
    # The participant's follower hears of its objection; the proposal's endpoint of both.
    wait_for(sent(1, event=objection, subscription=subscriber), 20, "the e-mail")
    wait_for(sent(2, endpoint=hook), 20, "both webhooks")

    (message,) = mailbox.to("watcher@example.org")
    assert "Objection recorded: Russia on" in message["Subject"]
    assert "Reason given: Outside the mandate." in message.get_content()
    assert str(message["Message-ID"]) == Delivery.objects.get(subscription=subscriber).message_id
    assert not Delivery.objects.filter(event=moved, subscription=subscriber).exists()

    bodies = {
        verified(hook, request)["type"]: request for request in receiver.to("/hooks/proposal")
    }
    assert set(bodies) == {"position.objection_recorded", "decision.outcome_changed"}
    change = bodies["decision.outcome_changed"].json["data"]["outcome_change"]
    assert change == {"old": "undetermined", "new": "blocked"}
    assert bodies["position.objection_recorded"].json["data"]["participant"]["code"] == "RU"


def test_worker_killed_mid_fan_out_every_subscriber_gets_exactly_one_delivery(
    worker_factory, mailbox, broker
):
    """SIGKILL the only worker part-way through sending 2,000 e-mails, start another, and let
    the sweep pick up what the dead one held. Every subscriber ends with one delivery recorded
    as sent; nothing recorded as sent before the kill was sent again; the one delivery a worker
    can have sent and not yet recorded when it dies (NOTIFICATIONS_RECORD_EVERY at most) are the
    only possible repeats, and they carry the same Message-ID."""
    now = timezone.now()
    Subscription.objects.bulk_create(
        Subscription(email=f"subscriber-{n}@example.org", confirmed_at=now) for n in range(2000)
    )
    worker = worker_factory()
    LetterFactory()  # one event for everyone

    def some_sent() -> bool:
        return Delivery.objects.filter(status=Delivery.Status.SENT).count() >= 300

    wait_for(some_sent, 30, "the fan-out to be under way", every=0.005)
    worker.kill()
    started = time.monotonic()

    sent_before_kill = set(
        Delivery.objects.filter(status=Delivery.Status.SENT).values_list("uid", flat=True)
    )
    assert 300 <= len(sent_before_kill) < 2000, "kill landed after the fan-out finished"
    assert Delivery.objects.count() == 2000  # the fan-out wrote every row before sending
    # Claimed (a chunk at a time) and not yet recorded: all but one of them not yet sent.
    assert Delivery.objects.filter(status=Delivery.Status.SENDING).count() <= CLAIM_CHUNK

    replacement = worker_factory()

    def all_delivered() -> bool:
        services.sweep()  # what Celery beat does every minute, here as often as we look
        return Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2000

    wait_for(all_delivered, 60, "every delivery to be sent", every=1)
    assert replacement.process.poll() is None
    elapsed = time.monotonic() - started

    deliveries = list(Delivery.objects.select_related("subscription"))
    assert len({d.subscription_id for d in deliveries}) == 2000  # one per subscriber
    received = mailbox.message_ids()
    for delivery in deliveries:
        assert received[delivery.message_id] >= 1, delivery.subscription.email
        if delivery.uid in sent_before_kill:
            assert received[delivery.message_id] == 1, "a delivery recorded as sent went twice"
    repeats = [message_id for message_id, count in received.items() if count > 1]
    # At most the few caught between sending and recording.
    assert len(repeats) <= conf.get_int("NOTIFICATIONS_RECORD_EVERY"), repeats
    assert all(count <= 2 for count in received.values())
    print(f"recovered {2000 - len(sent_before_kill)} deliveries in {elapsed:.1f} s")


def test_edits_succeed_while_redis_is_down_and_everything_is_delivered_after(
    worker_factory, receiver, mailbox, broker
):
    """Redis dies (queued messages and all). Edits go on working: each writes its event and
    logs the failed enqueue. When Redis is back, Celery beat's sweep finds the events never
    fanned out and everything reaches everyone."""
    subscribers = [follower(f"reader-{n}@example.org") for n in range(3)]
    hook = endpoint(receiver, "/hooks/all")
    worker_factory()
    worker_factory(kind=Beat, NOTIFICATIONS_SWEEP_INTERVAL="1")

    broker.stop()
    started = time.monotonic()
    meeting = MeetingFactory()  # meeting.scheduled
    with transaction.atomic():
        meeting.start_date += datetime.timedelta(days=7)
        meeting.end_date += datetime.timedelta(days=7)
        meeting.save()  # meeting.dates_changed
    LetterFactory()  # letter.added
    took = time.monotonic() - started
    assert took < 5, f"edits took {took:.1f} s with Redis down"
    assert Event.objects.filter(fanned_out_at__isnull=True).count() == 3
    assert not Delivery.objects.exists()

    broker.start()
    expected = 3 * (len(subscribers) + 1)
    wait_for(sent(expected), 60, "every notification after Redis came back", every=0.2)

    for subscriber in subscribers:
        assert len(mailbox.to(subscriber.email)) == 3
    kinds = sorted(verified(hook, request)["type"] for request in receiver.to("/hooks/all"))
    assert kinds == ["letter.added", "meeting.dates_changed", "meeting.scheduled"]
    assert sum(mailbox.message_ids().values()) == 9


def test_receiver_failing_three_times_then_succeeding_gets_exactly_one_delivery(worker, receiver):
    """500, then 429 with Retry-After: 1, then no answer within the timeout, then 200."""
    receiver.script["/hooks/flaky"] = [500, (429, {"Retry-After": "1"}), "timeout", 200]
    hook = endpoint(receiver, "/hooks/flaky")

    LetterFactory()
    wait_for(sent(1, endpoint=hook), 30, "the webhook to get through")

    requests = receiver.to("/hooks/flaky")
    assert len(requests) == 4
    assert len(receiver.successes("/hooks/flaky")) == 1
    # Every attempt is the same message: same id, same body, each signed afresh.
    assert {request.headers["webhook-id"] for request in requests} == {
        Delivery.objects.get(endpoint=hook).webhook_id
    }
    assert len({request.body for request in requests}) == 1
    for request in requests:
        verified(hook, request)
    assert requests[2].at - requests[1].at >= 1  # Retry-After honoured
    delivery = Delivery.objects.get(endpoint=hook)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 4, 200)


def test_410_gone_stops_retries_and_disables_the_endpoint(worker, receiver):
    receiver.script["/hooks/gone"] = [410]
    gone = endpoint(receiver, "/hooks/gone")
    alive = endpoint(receiver, "/hooks/alive")

    LetterFactory()
    wait_for(sent(1, endpoint=alive), 20, "the first webhook")
    wait_for(lambda: Delivery.objects.filter(status="gone").exists(), 20, "the 410")
    LetterFactory()
    wait_for(sent(2, endpoint=alive), 20, "the second webhook")

    gone.refresh_from_db()
    assert not gone.active and "410" in gone.disabled_reason
    assert len(receiver.to("/hooks/gone")) == 1  # never tried again, nor for the next event
    assert Delivery.objects.get(endpoint=gone).attempts == 1
    assert not Delivery.objects.filter(endpoint=gone, status="pending").exists()


def test_a_receiver_that_keeps_failing_is_given_up_on_then_retried_from_the_admin(
    worker_factory, receiver, client
):
    worker_factory(NOTIFICATIONS_MAX_ATTEMPTS="3")
    receiver.script["/hooks/down"] = [503, 503, 503]
    hook = endpoint(receiver, "/hooks/down")

    LetterFactory()
    failed = wait_for(
        lambda: Delivery.objects.filter(endpoint=hook, status="failed").first(),
        30,
        "the delivery to be given up on",
    )
    assert failed.attempts == 3 and failed.last_status_code == 503
    time.sleep(1)
    assert len(receiver.to("/hooks/down")) == 3  # a bounded schedule: no fourth try

    admin = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(admin)
    listing = client.get("/admin/notifications/delivery/?status__exact=failed")
    assert str(failed.uid) in listing.content.decode()
    response = client.post(
        "/admin/notifications/delivery/",
        {"action": "retry", "_selected_action": [failed.pk]},
    )
    assert response.status_code == 302
    wait_for(sent(1, endpoint=hook), 20, "the retried delivery")
    assert len(receiver.successes("/hooks/down")) == 1


def test_a_rolled_back_change_enqueues_nothing(broker):
    follower("reader@example.org")
    with pytest.raises(RuntimeError), transaction.atomic():
        MeetingFactory()
        LetterFactory()
        raise RuntimeError("the edit fails")
    assert not Event.objects.exists()
    assert broker.queue_length() == 0

    MeetingFactory()  # the same, committed: one task on the queue
    assert broker.queue_length() == 1
