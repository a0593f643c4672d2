"""Celery tasks of the notifications app. Each takes ids, loads fresh rows, and is safe to run
twice: the settings acknowledge a task only after it ran (acks_late, reject_on_worker_lost), so
a task whose worker died runs again. The work itself lives in services.py and delivery.py."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from notifications import delivery, services
from notifications.models import Subscription


@shared_task(name="notifications.fan_out")
def fan_out(event_ids: list[int]) -> int:
    """Create the deliveries of these events and enqueue them in batches."""
    return sum(services.fan_out(event_id=pk) for pk in event_ids)


@shared_task(name="notifications.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Send one batch of deliveries (e-mails), or one webhook."""
    return dict(delivery.send_deliveries(delivery_ids))


@shared_task(name="notifications.sweep")
def sweep() -> dict[str, int]:
    """Re-enqueue what should have been delivered and was not (Celery beat, every minute)."""
    return services.sweep()


@shared_task(name="notifications.announce_upcoming_meetings")
def announce_upcoming_meetings() -> int:
    """Tell followers of meetings starting within a week (Celery beat, daily)."""
    return len(services.record_upcoming_meetings(today=timezone.now().date()))


@shared_task(name="notifications.send_daily_digests")
def send_daily_digests(day: str | None = None) -> int:
    """Send yesterday's digest (or `day`'s, an ISO date) to daily subscribers (Celery beat)."""
    when = (
        datetime.date.fromisoformat(day)
        if day
        else timezone.now().date() - datetime.timedelta(days=1)
    )
    return services.prepare_daily_digests(day=when)


@shared_task(name="notifications.send_confirmation")
def send_confirmation(subscription_id: int) -> bool:
    """E-mail the signed link that confirms an address. Not deduplicated: asking twice sends
    two links, both good."""
    subscription = (
        Subscription.objects.select_related("meeting", "participant", "proposal")
        .filter(pk=subscription_id, user__isnull=True, unsubscribed_at__isnull=True)
        .first()
    )
    if subscription is None or subscription.confirmed_at is not None:
        return False
    body = render_to_string(
        "notifications/email/confirm.txt",
        {
            "subscription": subscription,
            "confirm_url": services.confirmation_url(subscription),
        },
    )
    EmailMessage(
        subject=delivery.SUBJECT_PREFIX + "Confirm your subscription",
        body=body,
        to=[subscription.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return True
