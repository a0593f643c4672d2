"""Sending deliveries: claim the rows, send them, record the results.

Deliveries are claimed with a conditional update (pending → sending) before anything is sent,
and recorded as sent straight after: a webhook by itself, e-mails a few at a time (SentLog). So
a task that runs twice (its worker killed before acknowledging it, or the sweep re-enqueueing
it) sends nothing that was recorded as sent, and the only repeats possible are of the few
deliveries a worker had sent and not yet recorded when it died. Those keep their ids
(Message-ID, webhook-id), so the receiver can drop them.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import os
import random
import socket
import time
from collections import Counter
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from standardwebhooks import Webhook

from notifications import conf
from notifications.models import Delivery, Event, Subscription, WebhookEndpoint

logger = logging.getLogger(__name__)
# httpx logs every request at INFO; the delivery rows already record each attempt.
logging.getLogger("httpx").setLevel(logging.WARNING)

Status = Delivery.Status
USER_AGENT = "KP-Tracker-Webhooks/1"
SUBJECT_PREFIX = "[KP Tracker] "
# Rows claimed per statement while sending a batch.
CLAIM_CHUNK = 20


# --- Schedule -------------------------------------------------------------------------------


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: exponential, capped, with "equal
    jitter" (half fixed, half random) so receivers that failed together are not retried together.
    """
    base, cap = conf.get("NOTIFICATIONS_BACKOFF_BASE"), conf.get("NOTIFICATIONS_BACKOFF_MAX")
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def parse_retry_after(value: str | None, now: datetime.datetime) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - now).total_seconds())


# --- Message building -----------------------------------------------------------------------


def webhook_body(event: Event) -> str:
    """The JSON body, the same bytes on every attempt (Standard Webhooks' type/timestamp/data)."""
    return json.dumps(
        {
            "type": event.kind,
            "timestamp": event.created.astimezone(datetime.UTC).isoformat(),
            "data": {"event_id": event.pk, **event.payload},
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def webhook_headers(delivery: Delivery, body: str, now: datetime.datetime) -> dict[str, str]:
    """Standard Webhooks headers; the signature is v1, HMAC-SHA256 over "id.timestamp.body"
    with the endpoint's secret, computed by the `standardwebhooks` library."""
    signature = Webhook(delivery.endpoint.secret).sign(delivery.webhook_id, now, body)
    return {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


class EmailRenderer:
    """Renders e-mails, each event's text once per batch rather than once per recipient."""

    def __init__(self) -> None:
        self._event_text: dict[int, str] = {}
        self._unsubscribe_url: str | None = None

    def unsubscribe_url(self, subscription: Subscription) -> str:
        # Resolved once per batch, not per message.
        if self._unsubscribe_url is None:
            self._unsubscribe_url = Subscription(token="UNSUBSCRIBE-TOKEN").unsubscribe_url
        return self._unsubscribe_url.replace("UNSUBSCRIBE-TOKEN", subscription.token)

    def event_text(self, event: Event) -> str:
        if event.pk not in self._event_text:
            self._event_text[event.pk] = render_to_string(
                "notifications/email/event.txt", {"event": event, "payload": event.payload}
            ).strip()
        return self._event_text[event.pk]

    def message(self, delivery: Delivery, connection: Any) -> EmailMessage:
        subscription = delivery.subscription
        if delivery.event_id:
            subject = delivery.event.payload.get("summary") or delivery.event.get_kind_display()
            text = self.event_text(delivery.event)
        else:
            events = list(
                Event.objects.on_day(delivery.digest_day)
                .followed_by(subscription)
                .order_by("created", "pk")
            )
            subject = f"Daily digest for {delivery.digest_day:%-d %B %Y}: {len(events)} change" + (
                "s" if len(events) != 1 else ""
            )
            text = render_to_string(
                "notifications/email/digest.txt",
                {"events": events, "day": delivery.digest_day},
            ).strip()
        unsubscribe = self.unsubscribe_url(subscription)
        body = (
            f"{text}\n\n-- \nYou follow {subscription.followed} on KP Tracker "
            f"({subscription.get_cadence_display().lower()}).\n"
            f"Stop these e-mails: {unsubscribe}\n"
        )
        return EmailMessage(
            subject=(SUBJECT_PREFIX + subject)[:250],
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[subscription.address],
            connection=connection,
            headers={
                "Message-ID": delivery.message_id,
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "Auto-Submitted": "auto-generated",
            },
        )


# --- HTTP -----------------------------------------------------------------------------------

_client: httpx.Client | None = None
_client_pid: int | None = None


def http_client() -> httpx.Client:
    """One pooled client per worker process (keep-alive to receivers), made after any fork."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        # TCP_NODELAY: httpx writes a request's headers and body separately, and with Nagle's
        # algorithm the body then waits for the receiver's delayed ACK (40 ms on Linux).
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        _client = httpx.Client(
            transport=transport, follow_redirects=False, headers={"user-agent": USER_AGENT}
        )
        _client_pid = os.getpid()
    return _client


# --- Claim, send, record --------------------------------------------------------------------


def claim(ids: list[int], now: datetime.datetime) -> set[int]:
    """Take pending rows for this worker with one conditional update (pending → sending);
    returns the ids it changed. Another run that got there first, or sent them already, gets
    nothing. UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+) says which rows changed in the
    same statement."""
    if not ids:
        return set()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 "
            f"WHERE id IN ({marks}) AND status = %s AND next_attempt_at <= %s RETURNING id",
            [Status.SENDING, now, *ids, Status.PENDING, now],
        )
        return {row[0] for row in cursor.fetchall()}


def record(delivery: Delivery, status: str, **fields: Any) -> None:
    """Write the result, conditional on still holding the claim: if the sweep took the row back
    meanwhile, the newer run's record stands. Plain SQL: this runs once per message, and the
    ORM's update costs more than the statement itself (see docs/benchmarks.md)."""
    values = {"status": status, **fields}
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Delivery._meta.db_table)} SET {assignments} "
            f"WHERE id = %s AND status = %s",
            [*values.values(), delivery.pk, Status.SENDING],
        )


def record_failure(
    delivery: Delivery,
    error: str,
    *,
    status_code: int | None = None,
    retry_after: float | None = None,
) -> str:
    """Schedule another attempt, or give up once the schedule is spent."""
    from notifications.services import enqueue
    from notifications.tasks import send_deliveries

    now = timezone.now()
    if delivery.attempts >= conf.get_int("NOTIFICATIONS_MAX_ATTEMPTS"):
        record(delivery, Status.FAILED, last_error=error[:2000], last_status_code=status_code)
        logger.warning(
            "Delivery %s failed after %s attempts: %s", delivery.pk, delivery.attempts, error
        )
        return Status.FAILED
    delay = backoff(delivery.attempts)
    if retry_after is not None:
        delay = max(delay, min(retry_after, conf.get("NOTIFICATIONS_BACKOFF_MAX")))
    record(
        delivery,
        Status.PENDING,
        next_attempt_at=now + datetime.timedelta(seconds=delay),
        enqueued_at=now,
        last_error=error[:2000],
        last_status_code=status_code,
    )
    enqueue(send_deliveries, [delivery.pk], countdown=delay)
    return "retried"


def send_webhook(delivery: Delivery) -> str:
    endpoint: WebhookEndpoint = delivery.endpoint
    body = webhook_body(delivery.event)
    now = timezone.now().astimezone(datetime.UTC)
    timeout = conf.get("NOTIFICATIONS_WEBHOOK_TIMEOUT")
    try:
        response = http_client().post(
            endpoint.url,
            content=body.encode(),
            headers=webhook_headers(delivery, body, now),
            timeout=timeout,
        )
    except httpx.TimeoutException:
        return record_failure(delivery, f"Timed out after {timeout:g} s.")
    except httpx.HTTPError as exc:
        return record_failure(delivery, f"{type(exc).__name__}: {exc}")
    code = response.status_code
    if 200 <= code < 300:
        record(delivery, Status.SENT, sent_at=timezone.now(), last_status_code=code, last_error="")
        return Status.SENT
    if code == 410:
        # The receiver says this endpoint is gone for good: stop this and everything else queued
        # for it, and disable it until an editor turns it on again.
        record(delivery, Status.GONE, last_status_code=code, last_error="410 Gone")
        disable_endpoint(endpoint, "The receiver answered 410 Gone.")
        return Status.GONE
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    return record_failure(
        delivery, f"HTTP {code}: {response.text[:200]}", status_code=code, retry_after=retry_after
    )


def disable_endpoint(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    Delivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.GONE, last_error=reason
    )


class SentLog:
    """E-mails sent and not yet recorded, written as sent a few at a time.

    Recording each message with its own statement would cost a database round trip per e-mail,
    more than building and sending it; so the sends of up to NOTIFICATIONS_RECORD_EVERY e-mails,
    or of RECORD_WITHIN seconds, go in one UPDATE. Those few are the window a killed worker
    leaves: sent, still "sending" in the database, and sent again (under the same Message-ID)
    once the sweep takes them for orphaned. A failure is recorded at once, after what was sent.
    """

    RECORD_WITHIN = 0.05  # seconds: a slow mail server never keeps a send unrecorded for long

    def __init__(self) -> None:
        self.every = conf.get_int("NOTIFICATIONS_RECORD_EVERY")
        self.sent: list[tuple[int, datetime.datetime]] = []
        self.oldest = 0.0

    def add(self, delivery: Delivery) -> None:
        if not self.sent:
            self.oldest = time.monotonic()
        self.sent.append((delivery.pk, timezone.now()))
        if len(self.sent) >= self.every:
            self.flush()
        else:
            self.flush_if_due()

    def flush_if_due(self) -> None:
        """Record what was sent RECORD_WITHIN ago or more; called before each send too, so a
        slow send never holds earlier ones unrecorded."""
        if self.sent and time.monotonic() - self.oldest >= self.RECORD_WITHIN:
            self.flush()

    def flush(self) -> None:
        """One statement, conditional like record(): a row the sweep took back stays its."""
        if not self.sent:
            return
        quote = connection.ops.quote_name
        whens = " ".join(["WHEN %s THEN %s"] * len(self.sent))
        marks = ", ".join(["%s"] * len(self.sent))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(Delivery._meta.db_table)} SET status = %s, last_error = '', "
                f"sent_at = CASE id {whens} END WHERE id IN ({marks}) AND status = %s",
                [
                    Status.SENT,
                    *(value for pair in self.sent for value in pair),
                    *(pk for pk, _ in self.sent),
                    Status.SENDING,
                ],
            )
        self.sent = []


class EmailSender:
    """Sends a batch's e-mails over one connection of Django's e-mail backend."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.renderer = EmailRenderer()
        self.log = SentLog()

    def send(self, delivery: Delivery) -> str:
        self.log.flush_if_due()
        try:
            if self.connection is None:
                self.connection = get_connection()
                self.connection.open()
            message = self.renderer.message(delivery, self.connection)
            self.connection.send_messages([message])
        except Exception as exc:
            self.close()  # a broken SMTP session is opened afresh for the next one
            self.log.flush()
            return record_failure(delivery, f"{type(exc).__name__}: {exc}")
        self.log.add(delivery)
        return Status.SENT

    def close(self) -> None:
        self.log.flush()
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                logger.debug("Closing the e-mail connection failed", exc_info=True)
            self.connection = None


def send_one(delivery: Delivery, emails: EmailSender) -> str:
    """Send one claimed delivery and record the result."""
    if delivery.endpoint_id:
        if not delivery.endpoint.active:
            record(delivery, Status.GONE, last_error="The endpoint is disabled.")
            return Status.GONE
        return send_webhook(delivery)
    subscription: Subscription = delivery.subscription
    if not subscription.is_active or not subscription.address:
        record(delivery, Status.GONE, last_error="Unsubscribed, or no address.")
        return Status.GONE
    return emails.send(delivery)


def send_deliveries(ids: list[int]) -> Counter[str]:
    """Send the given deliveries that are pending and due; returns a count by result."""
    from notifications.services import enqueue
    from notifications.tasks import send_deliveries as send_task

    results: Counter[str] = Counter()
    now = timezone.now()
    # Three joins, not seven: PostgreSQL spends longer planning a seven-way join (about 8 ms
    # here) than sending a webhook, and a webhook is a task of its own. What an e-mail names
    # (its follower's user, meeting, participant or proposal) is fetched for the batch after.
    rows = (
        Delivery.objects.filter(pk__in=ids, status=Status.PENDING)
        .select_related("event", "endpoint", "subscription")
        .order_by("pk")
    )
    due = []
    for delivery in rows:
        if delivery.next_attempt_at > now:
            # A retry's message arrived early (or a duplicate): put it back for its time.
            wait = (delivery.next_attempt_at - now).total_seconds()
            enqueue(send_task, [delivery.pk], countdown=wait)
            results["not_due"] += 1
        else:
            due.append(delivery)
    prefetch_related_objects(
        [delivery.subscription for delivery in due if delivery.subscription_id],
        "user",
        "meeting",
        "participant",
        "proposal",
    )
    emails = EmailSender()
    try:
        # Claimed a few at a time, so that rows stay "sending" only briefly (the sweep takes
        # back rows "sending" for longer than NOTIFICATIONS_STUCK_AFTER), and recorded a few at
        # a time (SentLog), so at most NOTIFICATIONS_RECORD_EVERY sent messages are unrecorded.
        for start in range(0, len(due), CLAIM_CHUNK):
            chunk = due[start : start + CLAIM_CHUNK]
            claimed = claim([delivery.pk for delivery in chunk], timezone.now())
            for delivery in chunk:
                if delivery.pk not in claimed:
                    results["skipped"] += 1
                    continue
                delivery.attempts += 1
                results[send_one(delivery, emails)] += 1
            emails.log.flush()  # what this chunk sent is recorded before the next is claimed
    finally:
        emails.close()
    return results
