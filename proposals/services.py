"""Writes that touch several rows of the proposals app. The admin (and the API, the shell)
call these rather than saving rows one by one, so every path validates and records the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from participants.models import Observer, Participant
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position
from sources.models import Source

# A position's foreign keys are objects the caller loaded, and its uniqueness is enforced by the
# matching below and by the database's constraints; validating them row by row in Python would
# cost a query per key and per constraint for each of some eighty participants.
POSITION_UNCHECKED = ["decision", "participant", "observer", "letter"]


@dataclass(frozen=True)
class PositionInput:
    """The position one participant (or observer) is to hold; no stance means none on record."""

    participant: Participant | None = None
    observer: Observer | None = None
    stance: str = ""
    reason: str = ""
    letter: Letter | None = None

    @property
    def holder_key(self) -> tuple[str, int]:
        if (self.participant is None) == (self.observer is None):
            raise ValidationError("A position is held by a participant or an observer.")
        if self.participant is not None:
            return ("participant", self.participant.pk)
        return ("observer", self.observer.pk)


@dataclass(frozen=True)
class DecisionRecorded:
    decision: Decision
    created: int
    updated: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def _decision_changed(decision: Decision) -> bool:
    """Whether `decision` differs from its row: an unchanged one is not saved again (no empty
    history row, no second recompute)."""
    names = [
        field.attname
        for field in Decision._meta.concrete_fields
        if field.editable and not field.primary_key
    ]
    stored = Decision.objects.filter(pk=decision.pk).values(*names).first()
    return stored != {name: getattr(decision, name) for name in names}


def holder_key(position: Position) -> tuple[str, int]:
    if position.participant_id is not None:
        return ("participant", position.participant_id)
    return ("observer", position.observer_id)


@transaction.atomic
def decision_record(
    *,
    decision: Decision,
    positions: Sequence[PositionInput],
    actor: AbstractBaseUser | None,
    sources: Sequence[Source] = (),
) -> DecisionRecorded:
    """Save `decision` and set the positions held on it, then recompute its outcome once.

    `positions` is the state wanted for each holder it names: a stance creates or updates that
    holder's position, no stance deletes it; holders it does not name are left alone. New and
    changed positions rest on `sources`, which the decision takes too. The decision (saved only
    when new or changed, under its revision check, `kp_tracker.locking`) and each position are
    validated with `full_clean()`; the positions are locked while compared and written.
    Positions are written in bulk, with their history rows naming `actor`, so the queries do not
    grow with the participants (a deletion costs a few of its own, through the signals).
    """
    creating = decision.pk is None
    if creating and not sources:
        raise ValidationError({"sources": "A new decision needs at least one source."})
    if creating or _decision_changed(decision):
        decision.full_clean()
        if actor is not None:
            decision._history_user = actor
        decision.save()
    if sources:
        decision.sources.add(*sources)

    wanted: dict[tuple[str, int], PositionInput] = {}
    for position in positions:
        key = position.holder_key
        if key in wanted:
            raise ValidationError(f"Two positions were given for the same {key[0]}.")
        if position.stance and position.stance not in Position.Stance.values:
            raise ValidationError({"stance": f"“{position.stance}” is not a stance."})
        wanted[key] = position

    existing = {
        holder_key(position): position
        for position in decision.positions.select_for_update().order_by()
    }
    created, updated, deleted = [], [], []
    for key, position in wanted.items():
        current = existing.get(key)
        if not position.stance:
            if current is not None:
                deleted.append(current)
            continue
        values = {
            "stance": position.stance,
            "reason": position.reason.strip(),
            "letter": position.letter,
        }
        if current is None:
            row = Position(
                decision=decision,
                participant=position.participant,
                observer=position.observer,
                **values,
            )
            created.append(row)
        elif (current.stance, current.reason, current.letter_id) != (
            position.stance,
            values["reason"],
            position.letter.pk if position.letter else None,
        ):
            row = current
            for name, value in values.items():
                setattr(row, name, value)
            # Locked above, so raising the revision here is as safe as a save's check.
            row.lock_version += 1
            updated.append(row)
        else:
            continue
        row.full_clean(
            exclude=POSITION_UNCHECKED, validate_unique=False, validate_constraints=False
        )

    if created:
        bulk_create_with_history(created, Position, default_user=actor)
    if updated:
        bulk_update_with_history(
            updated,
            Position,
            ["stance", "reason", "letter", "lock_version"],
            default_user=actor,
        )
    if sources and (created or updated):
        through = Position.sources.through
        have = set(
            through.objects.filter(position__in=updated, source__in=sources).values_list(
                "position_id", "source_id"
            )
        )
        through.objects.bulk_create(
            [
                through(position_id=row.pk, source_id=source.pk)
                for row in [*created, *updated]
                for source in sources
                if (row.pk, source.pk) not in have
            ]
        )
    for row in deleted:
        if actor is not None:
            row._history_user = actor
        row.delete()

    # Bulk writes send no signals: the outcome is recomputed here, once for all of them.
    engine.recompute(Decision.objects.filter(pk=decision.pk))
    decision.refresh_from_db(fields=["outcome", "explanation", "counterfactuals", "lock_version"])
    return DecisionRecorded(decision, len(created), len(updated), len(deleted))
