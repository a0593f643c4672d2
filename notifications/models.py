"""Who follows what (subscriptions, webhook endpoints), what happened (the event outbox) and
what was sent to whom (deliveries).

An event row is written in the same database transaction as the change it reports, so a change
that commits always has its event and a change that rolls back never does. Deliveries are made
from events after commit by Celery tasks; each has a stable id that the receiver sees (the
e-mail's Message-ID, the webhook's webhook-id), so a repeat can be recognised and dropped.
"""

from __future__ import annotations

import base64
import datetime
import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from meetings.models import AgendaItem, Meeting
from participants.models import Participant
from proposals.models import Decision, Letter, Proposal


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Target(models.TextChoices):
    ALL = "all", "Everything"
    MEETING = "meeting", "A meeting"
    PARTICIPANT = "participant", "A participant"
    PROPOSAL = "proposal", "A proposal"


class FollowingQuerySet(models.QuerySet):
    def following(self, event: Event, participant_ids: list[int]) -> FollowingQuerySet:
        """Rows that follow `event`: everything, its meeting, its proposal or a participant it
        concerns (`participant_ids`, resolved by the fan-out)."""
        condition = Q(target=Target.ALL)
        if event.meeting_id:
            condition |= Q(target=Target.MEETING, meeting_id=event.meeting_id)
        if event.proposal_id:
            condition |= Q(target=Target.PROPOSAL, proposal_id=event.proposal_id)
        if participant_ids:
            condition |= Q(target=Target.PARTICIPANT, participant_id__in=participant_ids)
        return self.filter(condition)


class Following(models.Model):
    """What a subscription or an endpoint follows: everything, or one meeting, participant or
    proposal. Deleting the followed row deletes the following: it has nothing left to follow."""

    target = models.CharField(max_length=12, choices=Target.choices, default=Target.ALL)
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_%(class)ss",
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_%(class)ss",
    )
    proposal = models.ForeignKey(
        Proposal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_%(class)ss",
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        target="all",
                        meeting__isnull=True,
                        participant__isnull=True,
                        proposal__isnull=True,
                    )
                    | Q(
                        target="meeting",
                        meeting__isnull=False,
                        participant__isnull=True,
                        proposal__isnull=True,
                    )
                    | Q(
                        target="participant",
                        meeting__isnull=True,
                        participant__isnull=False,
                        proposal__isnull=True,
                    )
                    | Q(
                        target="proposal",
                        meeting__isnull=True,
                        participant__isnull=True,
                        proposal__isnull=False,
                    )
                ),
                name="%(class)s_target_matches_kind",
            ),
        ]

    @property
    def followed(self) -> str:
        if self.target == Target.MEETING:
            return str(self.meeting)
        if self.target == Target.PARTICIPANT:
            return str(self.participant)
        if self.target == Target.PROPOSAL:
            return str(self.proposal)
        return "everything"


class SubscriptionQuerySet(FollowingQuerySet):
    def active(self) -> SubscriptionQuerySet:
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


class Subscription(Following):
    """A signed-in user, or an e-mail address confirmed through a signed link, following
    something, told at once or in a daily digest."""

    class Cadence(models.TextChoices):
        IMMEDIATE = "immediate", "At once"
        DAILY = "daily", "Daily digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_subscriptions",
    )
    email = models.EmailField(
        blank=True, help_text="For a subscriber without an account; empty for a user's own."
    )
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.IMMEDIATE)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the address was confirmed; a user's is at once."
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    token = models.CharField(
        max_length=64,
        unique=True,
        default=new_token,
        editable=False,
        help_text="Secret in the unsubscribe link of every e-mail.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            *Following.Meta.constraints,
            models.CheckConstraint(
                condition=Q(user__isnull=False, email="") | Q(user__isnull=True) & ~Q(email=""),
                name="subscription_user_xor_email",
            ),
            # Coalesce so that NULLs compare equal on every database (PostgreSQL 15's
            # NULLS NOT DISTINCT is not available on the SQLite that `make run` uses).
            models.UniqueConstraint(
                Coalesce("user", 0, output_field=models.BigIntegerField()),
                "email",
                "target",
                Coalesce("meeting", 0, output_field=models.BigIntegerField()),
                Coalesce("participant", 0, output_field=models.BigIntegerField()),
                Coalesce("proposal", 0, output_field=models.BigIntegerField()),
                name="subscription_one_per_follower_and_target",
            ),
        ]
        indexes = [
            models.Index(fields=["target", "cadence"], name="subscription_target_cadence"),
        ]

    def __str__(self) -> str:
        return f"{self.address or 'user ' + str(self.user_id)} → {self.get_target_display()}"

    @property
    def address(self) -> str:
        return self.user.email if self.user_id else self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def unsubscribe_url(self) -> str:
        try:
            path = reverse("notifications:unsubscribe", kwargs={"token": self.token})
        except NoReverseMatch:  # the pages not wired (a worker-only set-up): the usual path
            path = f"/notifications/unsubscribe/{self.token}/"
        return site_url(path)


class WebhookEndpointQuerySet(FollowingQuerySet):
    def active(self) -> WebhookEndpointQuerySet:
        return self.filter(active=True)


class WebhookEndpoint(Following):
    """A system that follows the record over HTTP, registered by a Secretariat editor.

    Deliveries are signed per Standard Webhooks with `secret`, which the receiver keeps.
    """

    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        help_text='Give it to the receiver; it verifies every request with it. Starts "whsec_".',
    )
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # The endpoint keeps working when the editor who registered it leaves.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="webhook_endpoints",
    )
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["url"]
        constraints = [
            *Following.Meta.constraints,
            models.CheckConstraint(
                condition=Q(secret__startswith="whsec_"), name="webhook_endpoint_secret_whsec"
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url


class EventQuerySet(models.QuerySet):
    def followed_by(self, subscription: Subscription) -> EventQuerySet:
        """Events a subscription follows (its participants as resolved by the fan-out)."""
        if subscription.target == Target.MEETING:
            return self.filter(meeting_id=subscription.meeting_id)
        if subscription.target == Target.PROPOSAL:
            return self.filter(proposal_id=subscription.proposal_id)
        if subscription.target == Target.PARTICIPANT:
            return self.filter(participants=subscription.participant_id)
        return self

    def on_day(self, day: datetime.date) -> EventQuerySet:
        start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
        return self.filter(created__gte=start, created__lt=start + datetime.timedelta(days=1))


class Event(models.Model):
    """Something that changed in the record, written in the change's own transaction (an outbox).

    The references say what it is about, for matching followers; `payload` is what receivers
    are told, a snapshot taken when it happened.
    """

    class Kind(models.TextChoices):
        AGENDA_ITEM_ADDED = "agenda_item.added", "Agenda item added"
        AGENDA_ITEM_REMOVED = "agenda_item.removed", "Agenda item removed"
        AGENDA_ITEM_RESTORED = "agenda_item.restored", "Agenda item no longer removed"
        DECISION_RECORDED = "decision.recorded", "Decision recorded"
        OUTCOME_CHANGED = "decision.outcome_changed", "Decision outcome changed"
        OBJECTION_RECORDED = "position.objection_recorded", "Objection recorded"
        LETTER_ADDED = "letter.added", "Letter added"
        MEETING_SCHEDULED = "meeting.scheduled", "Meeting scheduled"
        MEETING_DATES_CHANGED = "meeting.dates_changed", "Meeting dates changed"
        MEETING_UPCOMING = "meeting.upcoming", "Meeting starting soon"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # The references below are SET_NULL: an event is history and outlives the rows it names
    # (its payload still says what they were); it just stops matching their followers.
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
    )
    proposal = models.ForeignKey(
        Proposal,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
    )
    decision = models.ForeignKey(
        Decision,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
    )
    agenda_item = models.ForeignKey(
        AgendaItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
    )
    letter = models.ForeignKey(
        Letter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notification_events",
        help_text="The participant that acted (the objector of an objection).",
    )
    participants = models.ManyToManyField(
        Participant,
        blank=True,
        related_name="notification_events_concerning",
        help_text="Every participant the event concerns, resolved when it is fanned out.",
    )
    payload = models.JSONField(default=dict)
    key = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Set on events made by scheduled jobs, so a job that runs twice adds one.",
    )
    fanned_out_at = models.DateTimeField(
        null=True, blank=True, help_text="When its deliveries were created."
    )

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key=""), name="event_key_unique"),
        ]
        indexes = [
            models.Index(fields=["created"], name="event_created"),
            # The sweep's question, "which events were never fanned out?", stays cheap.
            models.Index(
                fields=["created"],
                condition=Q(fanned_out_at__isnull=True),
                name="event_not_fanned_out",
            ),
        ]

    def __str__(self) -> str:
        return self.payload.get("summary") or self.get_kind_display()


class DeliveryQuerySet(models.QuerySet):
    def undelivered(self) -> DeliveryQuerySet:
        return self.filter(status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])


class Delivery(models.Model):
    """One event (or one day's digest) for one subscription or one webhook endpoint."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        GONE = "gone", "Gone (receiver asked us to stop)"

    uid = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Stable id the receiver sees (Message-ID, webhook-id), the same on every try.",
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    digest_day = models.DateField(
        null=True, blank=True, help_text="For a daily digest: the day whose events it lists."
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When a task to send it was last put on the queue."
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(event__isnull=False, digest_day__isnull=True)
                | Q(event__isnull=True, digest_day__isnull=False, subscription__isnull=False),
                name="delivery_event_or_email_digest",
            ),
            models.CheckConstraint(
                condition=Q(subscription__isnull=False, endpoint__isnull=True)
                | Q(subscription__isnull=True, endpoint__isnull=False),
                name="delivery_subscription_xor_endpoint",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="delivery_sent_has_sent_at",
            ),
            models.UniqueConstraint(
                fields=["event", "subscription"], name="delivery_one_per_event_subscription"
            ),
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="delivery_one_per_event_endpoint"
            ),
            models.UniqueConstraint(
                fields=["digest_day", "subscription"], name="delivery_one_digest_per_day"
            ),
        ]
        indexes = [
            # The sweep's question, "what is due and not yet delivered?", stays cheap.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_undelivered",
            ),
            models.Index(fields=["status", "-id"], name="delivery_status"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.uid} ({self.status})"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.uid.hex}"

    @property
    def message_id(self) -> str:
        return f"<{self.uid.hex}@{site_domain()}>"

    @property
    def channel(self) -> str:
        return "webhook" if self.endpoint_id else "email"


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"
