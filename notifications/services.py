"""Writes of the notifications app: events into the outbox, fan-out into deliveries, the sweep,
digests, and subscribing.

Events are recorded by the signal receivers in `notifications/signals.py`, inside the
transaction of the change; the task that fans them out is enqueued only once that transaction
commits. An enqueue that fails (Redis down) is logged and left to the sweep: it never fails the
edit that caused it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from meetings.models import AgendaItem, Meeting
from notifications import conf
from notifications.models import (
    Delivery,
    Event,
    Subscription,
    Target,
    WebhookEndpoint,
    site_url,
)
from participants.models import Participant
from proposals.models import Decision, Letter, Position, Proposal

logger = logging.getLogger(__name__)

Kind = Event.Kind
# Events per fan-out task message when many are recorded at once (a bulk recompute).
EVENTS_PER_TASK = 100
CONFIRM_SALT = "notifications.confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600


# --- Enqueueing -----------------------------------------------------------------------------


def enqueue(task: Any, *args: Any, countdown: float | None = None) -> bool:
    """Put a task on the queue now; on failure log it and return False, never raise.

    Everything enqueued here is also found by the sweep from the database, so a lost enqueue
    delays a notification and loses nothing. One quick retry covers a pooled connection that
    Redis closed when it restarted; a Redis that is down fails in milliseconds.
    """
    try:
        task.apply_async(
            args,
            countdown=countdown,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1},
        )
    except Exception:
        logger.warning("Could not enqueue %s%r; the sweep will.", task.name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Enqueue after the current transaction commits (at once outside one); nothing on rollback."""
    transaction.on_commit(partial(enqueue, task, *args), robust=True)


def _fan_out_on_commit(event_ids: Sequence[int]) -> None:
    from notifications.tasks import fan_out

    for start in range(0, len(event_ids), EVENTS_PER_TASK):
        enqueue_on_commit(fan_out, list(event_ids[start : start + EVENTS_PER_TASK]))


# --- Payloads -------------------------------------------------------------------------------


def page_url(name: str, **kwargs: Any) -> str | None:
    """The public page of a record row, where the pages define one."""
    try:
        return site_url(reverse(name, kwargs=kwargs))
    except NoReverseMatch:
        return None


def date_range(start: datetime.date, end: datetime.date) -> str:
    if start == end:
        return f"{start.day} {start:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"


def meeting_dates(meeting: Meeting) -> tuple[datetime.date, datetime.date]:
    """The meeting's dates as dates, even when assigned as ISO strings (the shell, a loader)."""
    field = Meeting._meta.get_field("start_date")
    return field.to_python(meeting.start_date), field.to_python(meeting.end_date)


def meeting_ref(meeting: Meeting) -> dict[str, Any]:
    start, end = meeting_dates(meeting)
    return {
        "id": meeting.pk,
        "slug": meeting.slug,
        "name": str(meeting),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "url": page_url("meetings:detail", slug=meeting.slug),
    }


def decision_ref(decision: Decision) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "slug": decision.slug,
        "title": decision.title,
        "subject_kind": decision.subject_kind,
        "outcome": decision.outcome,
        "reported_outcome": decision.reported_outcome,
        "date": decision.date.isoformat() if decision.date else None,
        "url": page_url("proposals:decision_detail", slug=decision.slug),
    }


def agenda_item_ref(item: AgendaItem) -> dict[str, Any]:
    return {"id": item.pk, "title": item.title}


def proposal_ref(proposal: Proposal) -> dict[str, Any]:
    return {
        "id": proposal.pk,
        "slug": proposal.slug,
        "title": proposal.title,
        "status": proposal.status,
        "url": page_url("proposals:proposal_detail", slug=proposal.slug),
    }


def participant_ref(participant: Participant) -> dict[str, Any]:
    return {"id": participant.pk, "code": participant.code, "name": participant.name}


def letter_ref(letter: Letter) -> dict[str, Any]:
    return {
        "id": letter.pk,
        "slug": letter.slug,
        "subject": letter.subject,
        "date": letter.date.isoformat() if letter.date else None,
        "date_display": letter.date_display,
        "url": page_url("proposals:letter_detail", slug=letter.slug),
    }


def _decision_event(kind: str, decision: Decision, summary: str, **extra: Any) -> Event:
    payload: dict[str, Any] = {"summary": summary, "decision": decision_ref(decision)}
    if decision.meeting_id:
        payload["meeting"] = meeting_ref(decision.meeting)
    if decision.agenda_item_id:
        payload["agenda_item"] = agenda_item_ref(decision.agenda_item)
    if decision.proposal_id:
        payload["proposal"] = proposal_ref(decision.proposal)
    payload.update(extra)
    return Event(
        kind=kind,
        decision=decision,
        meeting_id=decision.meeting_id
        or (decision.agenda_item.meeting_id if decision.agenda_item_id else None),
        agenda_item_id=decision.agenda_item_id,
        proposal_id=decision.proposal_id,
        payload=payload,
    )


# --- Recording events -----------------------------------------------------------------------


def record_events(events: Sequence[Event]) -> list[Event]:
    """Write events into the outbox (the caller's transaction) and fan them out after commit."""
    if not events:
        return []
    created = Event.objects.bulk_create(events)
    _fan_out_on_commit([event.pk for event in created])
    return created


def record_agenda_item_added(*, item: AgendaItem) -> Event:
    meeting = item.meeting
    event = Event(
        kind=Kind.AGENDA_ITEM_ADDED,
        meeting=meeting,
        agenda_item=item,
        payload={
            "summary": f"Agenda item added to {meeting}: {item.title}",
            "agenda_item": agenda_item_ref(item),
            "meeting": meeting_ref(meeting),
        },
    )
    return record_events([event])[0]


def record_decision_recorded(*, decision: Decision) -> Event:
    """A new decision. The engine has already computed its outcome in this transaction and
    announced the move from "undetermined"; that announcement is folded into this event, since
    the decision did not exist before this transaction and nobody saw the old outcome."""
    Event.objects.filter(kind=Kind.OUTCOME_CHANGED, decision=decision).delete()
    decision = Decision.objects.select_related("meeting", "agenda_item", "proposal").get(
        pk=decision.pk
    )
    summary = f"Decision recorded: {decision.title} ({decision.get_outcome_display().lower()})"
    return record_events([_decision_event(Kind.DECISION_RECORDED, decision, summary)])[0]


def record_outcomes_changed(*, changes: Iterable[tuple[int, str, str]]) -> list[Event]:
    """Events for decisions whose outcome moved (the engine's `outcomes_changed`), and for the
    agenda items those outcomes removed from, or put back on, their agendas."""
    changes = list(changes)
    decisions = Decision.objects.select_related("meeting", "agenda_item", "proposal").in_bulk(
        [pk for pk, _, _ in changes]
    )
    labels = dict(Decision.Outcome.choices)
    blocked = Decision.Outcome.BLOCKED
    events = []
    for pk, old, new in changes:
        decision = decisions.get(pk)
        if decision is None:
            continue
        summary = (
            f"Outcome changed: {decision.title}: {labels.get(old, old).lower()} → "
            f"{labels.get(new, new).lower()}"
        )
        outcome = {"old": old, "new": new}
        events.append(
            _decision_event(Kind.OUTCOME_CHANGED, decision, summary, outcome_change=outcome)
        )
        item = decision.agenda_item
        if decision.subject_kind != Decision.SubjectKind.AGENDA_ITEM or item is None:
            continue
        # The engine has already carried the outcome to the item: it is removed by its latest
        # blocked decision, so only that decision's change removes it, and an unblocked
        # decision restores it only if no other blocked decision still removes it.
        if new == blocked and item.removed_by_id == decision.pk:
            where = f" from {decision.meeting}" if decision.meeting_id else ""
            summary = f"Agenda item removed{where}: {item.title}"
            events.append(
                _decision_event(Kind.AGENDA_ITEM_REMOVED, decision, summary, outcome_change=outcome)
            )
        elif old == blocked and item.removed_by_id is None:
            summary = f"Agenda item no longer removed: {item.title}"
            events.append(
                _decision_event(
                    Kind.AGENDA_ITEM_RESTORED, decision, summary, outcome_change=outcome
                )
            )
    return record_events(events)


def record_objection(*, position: Position) -> Event:
    position = Position.objects.select_related(
        "participant",
        "observer",
        "decision__meeting",
        "decision__agenda_item",
        "decision__proposal",
    ).get(pk=position.pk)
    decision = position.decision
    holder = position.participant or position.observer
    summary = f"Objection recorded: {holder.name} on {decision.title}"
    extra: dict[str, Any] = {"reason": position.reason}
    if position.participant_id:
        extra["participant"] = participant_ref(position.participant)
    else:
        extra["observer"] = {"id": holder.pk, "code": holder.code, "name": holder.name}
    event = _decision_event(Kind.OBJECTION_RECORDED, decision, summary, **extra)
    event.participant_id = position.participant_id
    return record_events([event])[0]


def record_letter_added(*, letter: Letter) -> Event:
    event = Event(
        kind=Kind.LETTER_ADDED,
        letter=letter,
        payload={
            "summary": f"Letter added: {letter.subject} ({letter.date_display})",
            "letter": letter_ref(letter),
        },
    )
    return record_events([event])[0]


def record_meeting_scheduled(*, meeting: Meeting) -> Event:
    when = date_range(*meeting_dates(meeting))
    event = Event(
        kind=Kind.MEETING_SCHEDULED,
        meeting=meeting,
        payload={
            "summary": f"Meeting scheduled: {meeting}, {when}",
            "meeting": meeting_ref(meeting),
        },
    )
    return record_events([event])[0]


def record_meeting_dates_changed(
    *, meeting: Meeting, old_start: datetime.date, old_end: datetime.date
) -> Event:
    old, new = date_range(old_start, old_end), date_range(*meeting_dates(meeting))
    event = Event(
        kind=Kind.MEETING_DATES_CHANGED,
        meeting=meeting,
        payload={
            "summary": f"Meeting dates changed: {meeting}, now {new} (was {old})",
            "meeting": meeting_ref(meeting),
            "old_dates": {"start_date": old_start.isoformat(), "end_date": old_end.isoformat()},
        },
    )
    return record_events([event])[0]


@transaction.atomic
def record_upcoming_meetings(*, today: datetime.date, days: int = 7) -> list[Event]:
    """A "starting soon" event for each meeting starting within `days` days of `today`, once
    per meeting and start date (a rescheduled meeting is announced again). Meetings scheduled
    at shorter notice are announced the next time this runs."""
    meetings = Meeting.objects.filter(
        start_date__gt=today, start_date__lte=today + datetime.timedelta(days=days)
    )
    events = []
    for meeting in meetings:
        key = f"{Kind.MEETING_UPCOMING}:{meeting.pk}:{meeting.start_date.isoformat()}"
        if Event.objects.filter(key=key).exists():
            continue
        until = (meeting.start_date - today).days
        events.append(
            Event(
                kind=Kind.MEETING_UPCOMING,
                meeting=meeting,
                key=key,
                payload={
                    "summary": f"{meeting} starts in {until} day{'s' if until != 1 else ''}, "
                    f"on {meeting.start_date.day} {meeting.start_date:%B %Y}",
                    "meeting": meeting_ref(meeting),
                    "days_until_start": until,
                },
            )
        )
    return record_events(events)


# --- Fan-out --------------------------------------------------------------------------------


def event_participant_ids(event: Event) -> set[int]:
    """Every participant an event concerns, read when it is fanned out (after commit), so
    authors and proposers added after the row itself (the admin saves them second) count."""
    ids: set[int] = set()
    if event.participant_id:
        ids.add(event.participant_id)
    if event.letter_id:
        ids.update(
            Letter.authors.through.objects.filter(letter_id=event.letter_id).values_list(
                "participant_id", flat=True
            )
        )
    if event.agenda_item_id and event.kind == Kind.AGENDA_ITEM_ADDED:
        ids.update(
            AgendaItem.proposers.through.objects.filter(
                agendaitem_id=event.agenda_item_id
            ).values_list("participant_id", flat=True)
        )
    if event.decision_id and event.kind != Kind.OBJECTION_RECORDED:
        ids.update(
            Decision.parties_concerned.through.objects.filter(
                decision_id=event.decision_id
            ).values_list("participant_id", flat=True)
        )
    if event.proposal_id:
        ids.update(
            Proposal.sponsors.through.objects.filter(proposal_id=event.proposal_id).values_list(
                "participant_id", flat=True
            )
        )
    if event.kind in {Kind.MEETING_SCHEDULED, Kind.MEETING_DATES_CHANGED, Kind.MEETING_UPCOMING}:
        host_and_chair = (
            Meeting.objects.filter(pk=event.meeting_id).values_list("host_id", "chair_id").first()
        )
        ids.update(pk for pk in host_and_chair or () if pk)
    return ids


def resolve_event(event: Event) -> list[int]:
    """Fix the participants an event concerns, once; later calls return what was fixed."""
    if event.fanned_out_at is not None:
        return list(event.participants.values_list("pk", flat=True))
    ids = sorted(event_participant_ids(event))
    event.participants.set(ids)
    return ids


def fan_out(*, event_id: int) -> int:
    """Create the deliveries of one event and enqueue them in batches; returns how many batches.

    Safe to run any number of times, and to resume after a worker died half-way: deliveries
    are inserted with ON CONFLICT DO NOTHING against the one-per-(event, follower) constraints,
    and only pending deliveries not yet on the queue are enqueued. The rows are written in
    chunks, each its own statement, so even a huge fan-out holds no long transaction; the
    event is marked fanned out only once all exist, so the sweep finishes an interrupted one.
    """
    from notifications.tasks import send_deliveries

    event = Event.objects.filter(pk=event_id).first()
    if event is None:  # rolled back after all, or deleted
        return 0
    if event.fanned_out_at is None:
        participant_ids = resolve_event(event)
        endpoints = WebhookEndpoint.objects.active().following(event, participant_ids)
        _insert_deliveries(event, "endpoint_id", list(endpoints.values_list("pk", flat=True)))
        subscriptions = (
            Subscription.objects.active()
            .filter(cadence=Subscription.Cadence.IMMEDIATE)
            .following(event, participant_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        chunk, last = conf.get_int("NOTIFICATIONS_FAN_OUT_CHUNK"), 0
        while True:
            ids = list(subscriptions.filter(pk__gt=last)[:chunk])
            if not ids:
                break
            _insert_deliveries(event, "subscription_id", ids)
            last = ids[-1]
        Event.objects.filter(pk=event.pk, fanned_out_at__isnull=True).update(
            fanned_out_at=timezone.now()
        )
    pending = Delivery.objects.filter(
        event_id=event.pk, status=Delivery.Status.PENDING, enqueued_at__isnull=True
    )
    # A webhook endpoint may be slow; give each its own task so it holds up no e-mail.
    batches = [[pk] for pk in pending.filter(endpoint__isnull=False).values_list("pk", flat=True)]
    batches += _batches(pending.filter(subscription__isnull=False).values_list("pk", flat=True))
    return _enqueue_batches(send_deliveries, batches)


def _insert_deliveries(event: Event, follower: str, follower_ids: list[int]) -> None:
    """One pending delivery of `event` per follower (column `follower`), skipping those that
    exist, in one statement whose rows the database builds: bulk_create spends several times
    longer making and preparing 5,000 model instances than the INSERT takes. The uid is made by
    the database too: random, as uuid4 is."""
    if not follower_ids:
        return
    if connection.vendor == "postgresql":
        new_uid = "gen_random_uuid()"
    else:  # SQLite keeps a UUIDField as 32 hex digits
        new_uid = "lower(hex(randomblob(16)))"
    quote = connection.ops.quote_name
    now = timezone.now()
    rows = ", ".join(["(%s)"] * len(follower_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Delivery._meta.db_table)} "
            f"(uid, event_id, {quote(follower)}, status, attempts, next_attempt_at, last_error, "
            f"created) SELECT {new_uid}, %s, follower.column1, %s, 0, %s, '', %s "
            f"FROM (VALUES {rows}) AS follower "
            # WHERE: SQLite reads ON CONFLICT after a bare INSERT ... SELECT as a join clause.
            f"WHERE true ON CONFLICT DO NOTHING",
            [event.pk, Delivery.Status.PENDING, now, now, *follower_ids],
        )


def _batches(ids_query: Any) -> list[list[int]]:
    ids = list(ids_query.order_by("pk"))
    size = conf.get_int("NOTIFICATIONS_BATCH_SIZE")
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _enqueue_batches(task: Any, batches: list[list[int]]) -> int:
    """Enqueue each batch and note when, so the sweep leaves it alone for a while."""
    enqueued: list[int] = []
    sent = 0
    for batch in batches:
        if not enqueue(task, batch):
            break  # the broker is down: the rest waits for the sweep
        enqueued += batch
        sent += 1
    # Noted once for all rather than per batch (one UPDATE per webhook cost more than its
    # enqueue). A sweep in the meantime may enqueue a row again: that task finds it claimed or
    # sent and does nothing. A row already sent is left alone.
    for start in range(0, len(enqueued), 5000):
        Delivery.objects.filter(
            pk__in=enqueued[start : start + 5000], status=Delivery.Status.PENDING
        ).update(enqueued_at=timezone.now())
    return sent


# --- The sweep ------------------------------------------------------------------------------


def sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Put back on the queue whatever should have been delivered and was not.

    - events never fanned out (their enqueue failed: Redis was down at commit time);
    - deliveries claimed by a worker that died before recording the result ("sending" for longer
      than any send can take): they are sent again under the same id (the one duplicate window);
    - pending deliveries whose task message was lost, or that are due for a retry whose delayed
      message was lost.
    """
    from notifications.tasks import fan_out as fan_out_task
    from notifications.tasks import send_deliveries

    now = now or timezone.now()
    requeue_before = now - datetime.timedelta(seconds=conf.get("NOTIFICATIONS_REQUEUE_AFTER"))
    stuck_before = now - datetime.timedelta(seconds=conf.get("NOTIFICATIONS_STUCK_AFTER"))
    limit = conf.get_int("NOTIFICATIONS_SWEEP_LIMIT")

    event_ids = list(
        Event.objects.filter(fanned_out_at__isnull=True, created__lte=requeue_before)
        .order_by("created")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(event_ids), EVENTS_PER_TASK):
        if not enqueue(fan_out_task, event_ids[start : start + EVENTS_PER_TASK]):
            break

    orphaned = Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lte=stuck_before
    ).update(
        status=Delivery.Status.PENDING,
        next_attempt_at=now,
        enqueued_at=None,
        last_error="The worker sending this was lost before recording the result; sending "
        "again under the same id.",
    )

    due = Delivery.objects.filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=requeue_before),
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
    )
    # Orphans are due at once; others only when their own enqueue is overdue.
    due = due.filter(Q(enqueued_at__isnull=True) | Q(next_attempt_at__lte=requeue_before))
    rows = list(due.order_by("pk").values_list("pk", "endpoint_id")[:limit])
    batches = [[pk] for pk, endpoint in rows if endpoint]
    size = conf.get_int("NOTIFICATIONS_BATCH_SIZE")
    emails = [pk for pk, endpoint in rows if not endpoint]
    batches += [emails[start : start + size] for start in range(0, len(emails), size)]
    requeued = _enqueue_batches(send_deliveries, batches)
    result = {"events": len(event_ids), "orphaned": orphaned, "batches": requeued}
    if any(result.values()):
        logger.info("Notifications sweep: %s", result)
    return result


# --- Digests --------------------------------------------------------------------------------


def prepare_daily_digests(*, day: datetime.date) -> int:
    """Create one digest delivery per daily subscriber with anything to read from `day`, and
    enqueue them. Safe to run again: one digest per subscription and day."""
    from notifications.tasks import send_deliveries

    events = list(Event.objects.on_day(day).order_by("pk"))
    for event in events:
        if event.fanned_out_at is None:
            fan_out(event_id=event.pk)  # also fixes the participants the event concerns
    subscribers: set[int] = set()
    daily = Subscription.objects.active().filter(cadence=Subscription.Cadence.DAILY)
    for event in events:
        participant_ids = list(event.participants.values_list("pk", flat=True))
        subscribers.update(daily.following(event, participant_ids).values_list("pk", flat=True))
    Delivery.objects.bulk_create(
        [Delivery(digest_day=day, subscription_id=pk) for pk in sorted(subscribers)],
        ignore_conflicts=True,
        batch_size=conf.get_int("NOTIFICATIONS_FAN_OUT_CHUNK"),
    )
    pending = Delivery.objects.filter(
        digest_day=day, status=Delivery.Status.PENDING, enqueued_at__isnull=True
    ).values_list("pk", flat=True)
    _enqueue_batches(send_deliveries, _batches(pending))
    return len(subscribers)


# --- Retrying from the admin ----------------------------------------------------------------


def retry_deliveries(*, deliveries: Any) -> int:
    """Give failed (or pending) deliveries a fresh schedule of attempts and enqueue them after
    commit. Sent ones are never sent again, and gone ones only once their endpoint is active."""
    from notifications.tasks import send_deliveries

    now = timezone.now()
    with transaction.atomic():
        ids = list(
            deliveries.filter(
                Q(status__in=[Delivery.Status.FAILED, Delivery.Status.PENDING])
                | Q(status=Delivery.Status.GONE, endpoint__active=True)
            ).values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=now, enqueued_at=now
        )
        for pk in ids:
            enqueue_on_commit(send_deliveries, [pk])
    return len(ids)


# --- Subscribing ----------------------------------------------------------------------------


def confirmation_url(subscription: Subscription) -> str:
    # The token is part of what is signed, so a link stops working once the subscription is
    # cancelled and made afresh.
    value = signing.dumps({"s": subscription.pk, "t": subscription.token[:12]}, salt=CONFIRM_SALT)
    try:
        path = reverse("notifications:confirm", kwargs={"signed": value})
    except NoReverseMatch:  # the pages not wired (a worker-only set-up): the usual path
        path = f"/notifications/confirm/{value}/"
    return site_url(path)


def subscription_from_confirmation(signed: str) -> Subscription | None:
    try:
        data = signing.loads(signed, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    subscription = Subscription.objects.filter(pk=data.get("s")).first()
    if subscription is None or subscription.token[:12] != data.get("t"):
        return None
    return subscription


@transaction.atomic
def subscribe(
    *,
    target: str,
    cadence: str,
    user: Any = None,
    email: str = "",
    meeting: Meeting | None = None,
    participant: Participant | None = None,
    proposal: Proposal | None = None,
) -> Subscription:
    """Follow something. A signed-in user's subscription is active at once; an address gets a
    confirmation link by e-mail and hears nothing until it is followed. Asking again for an
    unconfirmed address sends the link again; for a confirmed one it changes nothing (anyone
    may type an address in, so only its owner, by unsubscribing, changes what it gets). The
    answer is the same either way, so the form says nothing of who is subscribed."""
    from notifications.tasks import send_confirmation

    lookup = {
        "target": target,
        "meeting": meeting if target == Target.MEETING else None,
        "participant": participant if target == Target.PARTICIPANT else None,
        "proposal": proposal if target == Target.PROPOSAL else None,
    }
    if user is not None:
        lookup.update(user=user, email="")
    else:
        lookup.update(user=None, email=email.strip().lower())
    subscription = Subscription.objects.select_for_update().filter(**lookup).first()
    if user is None and subscription is not None and subscription.is_active:
        return subscription
    if subscription is None:
        subscription = Subscription(**lookup)
    subscription.cadence = cadence
    if user is not None:
        subscription.confirmed_at = subscription.confirmed_at or timezone.now()
        subscription.unsubscribed_at = None
    elif subscription.unsubscribed_at is not None:
        # Coming back after unsubscribing: confirm the address again, with a new token.
        subscription.unsubscribed_at = None
        subscription.confirmed_at = None
        subscription.token = Subscription._meta.get_field("token").default()
    subscription.full_clean()
    subscription.save()
    if user is None:
        enqueue_on_commit(send_confirmation, subscription.pk)
    return subscription


def confirm(*, subscription: Subscription) -> Subscription:
    if subscription.confirmed_at is None:
        Subscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now()
        )
        subscription.refresh_from_db()
    return subscription


def unsubscribe(*, subscription: Subscription) -> Subscription:
    """Stop a subscription, and the deliveries of it not yet sent."""
    with transaction.atomic():
        if subscription.unsubscribed_at is None:
            subscription.unsubscribed_at = timezone.now()
            subscription.save(update_fields=["unsubscribed_at"])
        subscription.deliveries.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.GONE, last_error="Unsubscribed."
        )
    return subscription
