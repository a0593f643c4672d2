"""Fan-out, sending, the sweep, the retry schedule and digests, run in this process: the broker
is the package's real Redis (queue lengths are read from it), e-mail is Django's locmem."""

import datetime

import pytest
from django.utils import timezone

from notifications import delivery, services
from notifications.models import Delivery, Event, Subscription, WebhookEndpoint
from tests.factories import LetterFactory, MeetingFactory

pytestmark = pytest.mark.django_db

Status = Delivery.Status


def subscribe(n: int, **kwargs) -> None:
    now = timezone.now()
    Subscription.objects.bulk_create(
        Subscription(
            email=f"{kwargs.get('target', 'all')}-{i}@example.org", confirmed_at=now, **kwargs
        )
        for i in range(n)
    )


def letter_event() -> Event:
    LetterFactory()
    return Event.objects.get(kind=Event.Kind.LETTER_ADDED)


def test_one_event_to_many_subscribers_is_many_batch_tasks(broker, monkeypatch):
    monkeypatch.setenv("NOTIFICATIONS_FAN_OUT_CHUNK", "100")  # rows written 100 at a time
    subscribe(450)
    meeting = MeetingFactory()
    subscribe(3, target="meeting", meeting=meeting)  # follows something else
    Subscription.objects.create(email="unconfirmed@example.org")
    Subscription.objects.create(
        email="gone@example.org", confirmed_at=timezone.now(), unsubscribed_at=timezone.now()
    )
    Subscription.objects.create(
        email="daily@example.org", confirmed_at=timezone.now(), cadence="daily"
    )
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/a")
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/b", active=False)
    event = letter_event()
    broker.client.flushdb()

    batches = services.fan_out(event_id=event.pk)

    assert batches == 1 + 9  # the endpoint alone, then 450 e-mails in batches of 50
    assert broker.queue_length() == 10
    assert event.deliveries.filter(subscription__isnull=False).count() == 450
    assert event.deliveries.filter(endpoint__isnull=False).count() == 1
    assert not event.deliveries.filter(enqueued_at__isnull=True).exists()
    # Running again (a redelivered task) adds no row and enqueues nothing.
    assert services.fan_out(event_id=event.pk) == 0
    assert event.deliveries.count() == 451 and broker.queue_length() == 10


def test_a_batch_sent_twice_sends_each_message_once(mailoutbox):
    subscribe(30)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    ids = list(event.deliveries.values_list("pk", flat=True))

    first = delivery.send_deliveries(ids)
    second = delivery.send_deliveries(ids)  # the task ran again: its worker died before acking

    assert first == {"sent": 30} and second == {}
    assert len(mailoutbox) == 30
    assert len({message.extra_headers["Message-ID"] for message in mailoutbox}) == 30
    assert event.deliveries.filter(status=Status.SENT).count() == 30


def test_claiming_is_a_conditional_update_that_only_one_run_wins():
    subscribe(3)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    ids = list(event.deliveries.values_list("pk", flat=True))
    now = timezone.now()
    assert delivery.claim(ids, now) == set(ids)
    assert delivery.claim(ids, now) == set()


def test_fan_out_rows_are_pending_with_distinct_ids_and_sent_marks_each_with_its_time(
    mailoutbox, monkeypatch
):
    monkeypatch.setenv("NOTIFICATIONS_RECORD_EVERY", "4")
    subscribe(10)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    rows = list(event.deliveries.all())
    assert {row.status for row in rows} == {Status.PENDING}
    assert len({row.uid for row in rows}) == 10  # made by the database, still one per delivery
    assert all(row.attempts == 0 and row.last_error == "" for row in rows)

    assert delivery.send_deliveries([row.pk for row in rows]) == {"sent": 10}

    sent = list(event.deliveries.order_by("pk"))
    assert [row.status for row in sent] == [Status.SENT] * 10
    assert all(row.sent_at >= row.claimed_at for row in sent)
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [r.message_id for r in sent]


def test_sent_emails_are_recorded_a_few_at_a_time_and_never_over_a_sweep_that_took_them(
    mailoutbox, monkeypatch
):
    """The sends SentLog holds unrecorded are at most NOTIFICATIONS_RECORD_EVERY; a failure
    records what was sent before it; a row the sweep took back is not marked sent."""
    monkeypatch.setenv("NOTIFICATIONS_RECORD_EVERY", "3")
    subscribe(5)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    rows = list(event.deliveries.order_by("pk"))
    delivery.claim([row.pk for row in rows], timezone.now())
    log = delivery.SentLog()
    log.RECORD_WITHIN = 3600  # only the count flushes here

    log.add(rows[0])
    log.add(rows[1])
    assert event.deliveries.filter(status=Status.SENT).count() == 0  # two held, unrecorded
    Delivery.objects.filter(pk=rows[1].pk).update(status=Status.PENDING)  # the sweep took it
    log.add(rows[2])  # the third: all three written in one statement
    assert set(event.deliveries.filter(status=Status.SENT).values_list("pk", flat=True)) == {
        rows[0].pk,
        rows[2].pk,
    }
    assert event.deliveries.get(pk=rows[1].pk).status == Status.PENDING

    log.RECORD_WITHIN = 0  # a slow mail server: each send is recorded at once
    log.add(rows[3])
    assert event.deliveries.get(pk=rows[3].pk).status == Status.SENT

    log.RECORD_WITHIN = 3600
    log.add(rows[4])
    assert event.deliveries.get(pk=rows[4].pk).status == Status.SENDING
    log.RECORD_WITHIN = 0  # time's up by the next send, which records it before it starts
    log.flush_if_due()
    assert event.deliveries.get(pk=rows[4].pk).status == Status.SENT


def test_an_email_failing_to_send_records_the_sends_before_it_first(mailoutbox, monkeypatch):
    subscribe(3)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    ids = list(event.deliveries.order_by("pk").values_list("pk", flat=True))
    sends = []

    def send_messages(self, messages):
        sends.append(messages[0])
        if len(sends) == 2:
            raise ConnectionError("the mail server went away")
        return 1

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", send_messages
    )
    assert delivery.send_deliveries(ids) == {"sent": 2, "retried": 1}
    statuses = dict(event.deliveries.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == [Status.SENT, Status.PENDING, Status.SENT]
    assert "the mail server went away" in event.deliveries.get(pk=ids[1]).last_error


def test_an_email_names_its_delivery_and_how_to_unsubscribe(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "KP Tracker <notify@kp.example.org>"
    subscriber = Subscription.objects.create(
        email="reader@example.org", confirmed_at=timezone.now()
    )
    event = letter_event()
    services.fan_out(event_id=event.pk)
    sent = Delivery.objects.get()
    delivery.send_deliveries([sent.pk])

    (message,) = mailoutbox
    headers = message.message()
    assert headers["Message-ID"] == sent.message_id == f"<{sent.uid.hex}@testserver>"
    assert headers["List-Unsubscribe"] == f"<{subscriber.unsubscribe_url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.subject.startswith("[KP Tracker] Letter added: ")
    assert subscriber.unsubscribe_url in message.body
    assert message.to == ["reader@example.org"]


def test_an_unsubscribed_reader_is_sent_nothing_still_pending(mailoutbox):
    subscriber = Subscription.objects.create(
        email="reader@example.org", confirmed_at=timezone.now()
    )
    event = letter_event()
    services.fan_out(event_id=event.pk)
    services.unsubscribe(subscription=subscriber)
    delivery.send_deliveries(list(event.deliveries.values_list("pk", flat=True)))
    assert mailoutbox == []
    assert Delivery.objects.get().status == Status.GONE


def test_the_sweep_requeues_lost_messages_orphans_and_events_never_fanned_out(broker):
    subscribe(4)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    broker.client.flushdb()  # Redis lost every message
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    lost, orphan, recent, sent = event.deliveries.order_by("pk")
    Delivery.objects.filter(pk=lost.pk).update(enqueued_at=long_ago, next_attempt_at=long_ago)
    Delivery.objects.filter(pk=orphan.pk).update(status=Status.SENDING, claimed_at=long_ago)
    Delivery.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=long_ago)
    LetterFactory()  # an event whose enqueue failed...
    unfanned = Event.objects.filter(fanned_out_at__isnull=True)
    unfanned.update(created=long_ago)  # ...a while ago

    result = services.sweep()

    assert result == {"events": 1, "orphaned": 1, "batches": 1}
    assert broker.queue_length() == 2  # one fan-out, one batch of the lost and the orphan
    orphan.refresh_from_db()
    assert orphan.status == Status.PENDING and "same id" in orphan.last_error
    recent.refresh_from_db()
    assert recent.enqueued_at > long_ago  # still on the queue as far as we know: left alone
    assert services.sweep() == {"events": 1, "orphaned": 0, "batches": 0}


def test_backoff_doubles_with_jitter_up_to_the_cap(monkeypatch):
    monkeypatch.setenv("NOTIFICATIONS_BACKOFF_BASE", "10")
    monkeypatch.setenv("NOTIFICATIONS_BACKOFF_MAX", "60")
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        delays = [delivery.backoff(attempts) for _ in range(200)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert max(delays) - min(delays) > full / 10  # jittered, not fixed


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.UTC)
    assert delivery.parse_retry_after("120", now) == 120
    assert delivery.parse_retry_after("Tue, 01 Jan 2030 12:00:30 GMT", now) == 30
    assert delivery.parse_retry_after("soon", now) is None
    assert delivery.parse_retry_after(None, now) is None


def test_a_daily_subscriber_gets_one_digest_of_what_it_follows(mailoutbox):
    followed, other = MeetingFactory(city="Kasane"), MeetingFactory(city="Victoria Falls")
    reader = Subscription.objects.create(
        email="daily@example.org",
        confirmed_at=timezone.now(),
        cadence="daily",
        target="meeting",
        meeting=followed,
    )
    yesterday = timezone.now().date() - datetime.timedelta(days=1)
    noon = datetime.datetime.combine(yesterday, datetime.time(12), tzinfo=datetime.UTC)
    Event.objects.update(created=noon)
    for event in Event.objects.all():
        services.fan_out(event_id=event.pk)
    assert not Delivery.objects.exists()  # a daily reader hears nothing at once

    assert services.prepare_daily_digests(day=yesterday) == 1
    assert services.prepare_daily_digests(day=yesterday) == 1  # again: still one digest
    digest = Delivery.objects.get()
    assert (digest.subscription, digest.digest_day, digest.event) == (reader, yesterday, None)
    delivery.send_deliveries([digest.pk])

    (message,) = mailoutbox
    assert message.subject == f"[KP Tracker] Daily digest for {yesterday:%-d %B %Y}: 1 change"
    assert str(followed) in message.body and str(other) not in message.body


def test_retrying_from_the_admin_restarts_the_schedule_but_never_resends_what_was_sent(
    django_capture_on_commit_callbacks,
):
    subscribe(3)
    event = letter_event()
    services.fan_out(event_id=event.pk)
    failed, sent, _pending = event.deliveries.order_by("pk")
    Delivery.objects.filter(pk=failed.pk).update(status=Status.FAILED, attempts=8)
    Delivery.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=timezone.now())

    with django_capture_on_commit_callbacks() as callbacks:
        count = services.retry_deliveries(deliveries=Delivery.objects.all())

    assert count == 2 and len(callbacks) == 2
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.PENDING, 0)
    assert Delivery.objects.get(pk=sent.pk).status == Status.SENT


def test_every_job_celery_beat_runs_is_a_registered_task(settings):
    from kp_tracker.celery import app

    app.loader.import_default_modules()
    jobs = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert jobs == {
        "notifications.sweep",
        "notifications.announce_upcoming_meetings",
        "notifications.send_daily_digests",
    }
    assert jobs <= set(app.tasks)
