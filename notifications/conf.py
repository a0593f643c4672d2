"""Tunables of the notifications app, read when used so tests can change them.

Each comes from a Django setting of the same name if one is defined, else from the environment
(so a worker process started by a test or an operator can be tuned without a settings edit),
else from the default here. Bad values fail loudly.
"""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, float] = {
    # Deliveries per send task: one event to 10,000 subscribers becomes 10,000 / BATCH_SIZE tasks.
    "NOTIFICATIONS_BATCH_SIZE": 200,
    # E-mails recorded as sent per statement (or fewer, after 50 ms): the most that a worker
    # killed mid-batch can leave sent but unrecorded, to be sent again under the same Message-ID.
    # 1 records each message by itself, at about half the throughput (docs/benchmarks.md).
    "NOTIFICATIONS_RECORD_EVERY": 10,
    # Subscriptions read and delivery rows written per statement while fanning an event out.
    "NOTIFICATIONS_FAN_OUT_CHUNK": 5000,
    # Retry schedule: BASE * 2**(attempt - 1) seconds, halved at random (jitter), capped at MAX;
    # MAX_ATTEMPTS attempts in all (8 with a 60 s base: about 4 hours), then the delivery fails.
    "NOTIFICATIONS_BACKOFF_BASE": 60.0,
    "NOTIFICATIONS_BACKOFF_MAX": 6 * 3600.0,
    "NOTIFICATIONS_MAX_ATTEMPTS": 8,
    "NOTIFICATIONS_WEBHOOK_TIMEOUT": 10.0,
    # The sweep re-enqueues a pending delivery enqueued this long ago and still not sent (its
    # task message lost with Redis, or its worker killed), and an event this old never fanned out.
    "NOTIFICATIONS_REQUEUE_AFTER": 300.0,
    # A delivery claimed ("sending") this long ago by a worker that never recorded the result is
    # taken to be orphaned by a dead worker and is sent again, under the same id. Keep it well
    # above the longest single send (the webhook timeout, EMAIL_TIMEOUT).
    "NOTIFICATIONS_STUCK_AFTER": 600.0,
    # At most this many deliveries re-enqueued by one sweep, so a backlog drains in steps.
    "NOTIFICATIONS_SWEEP_LIMIT": 20000,
}


def get(name: str) -> float:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return DEFAULTS[name]
    try:
        value = float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from exc
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative, not {raw!r}.")
    return value


def get_int(name: str) -> int:
    value = get(name)
    if int(value) != value or value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive whole number, not {value!r}.")
    return int(value)
