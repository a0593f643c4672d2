"""Multi-row work on agendas: the next version drafted from a copy, and what changed between two.

The copy is a write (`agenda_version_copy`); the comparison (`agenda_version_diff`) is the read
the admin shows beside it, kept here so the two stay in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from simple_history.utils import bulk_create_with_history

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion

COPIED_ENTRY_FIELDS = (
    "item_id",
    "status",
    "order",
    "time_slot_minutes",
    "removal_decision_id",
    "note",
)


@transaction.atomic
def agenda_version_copy(
    *,
    version: AgendaVersion,
    actor: AbstractBaseUser | None,
    label: str = "",
) -> AgendaVersion:
    """Draft the meeting's next agenda version (highest number + 1) from a copy of `version`.

    Every entry is copied with its status, order, time slot and note, so the next draft is
    edited rather than retyped. The new version takes `label` (else the copied one's), no date
    (the editor gives the new draft's), and the copied version's sources until the editor names
    the new draft's own. Its rows' history names `actor`.
    """
    # Locking the meeting's versions serialises two editors copying at once; the unique
    # constraint on (meeting, number) would otherwise refuse the second with an error page.
    numbers = AgendaVersion.objects.select_for_update().filter(meeting_id=version.meeting_id)
    highest = numbers.order_by().aggregate(highest=Max("number"))["highest"] or 0
    new = AgendaVersion(
        meeting_id=version.meeting_id,
        number=highest + 1,
        label=(label or version.label).strip(),
        dated=None,
        note=f"Drafted from version {version.number}.",
    )
    new.full_clean()
    if actor is not None:
        new._history_user = actor
    new.save()
    new.sources.set(version.sources.all())
    entries = [
        AgendaEntry(version=new, **{name: getattr(entry, name) for name in COPIED_ENTRY_FIELDS})
        for entry in version.entries.order_by("order", "id")
    ]
    for entry in entries:
        # Values copied from a valid entry of the same meeting; the foreign keys need no lookup.
        entry.full_clean(
            exclude=["version", "item", "removal_decision"],
            validate_unique=False,
            validate_constraints=False,
        )
    bulk_create_with_history(entries, AgendaEntry, default_user=actor)
    return new


@dataclass(frozen=True)
class EntryChange:
    item: AgendaItem
    before: AgendaEntry | None
    after: AgendaEntry | None

    @property
    def status_changed(self) -> bool:
        return bool(self.before and self.after and self.before.status != self.after.status)

    @property
    def slot_changed(self) -> bool:
        return bool(self.before and self.after and _slot(self.before) != _slot(self.after))

    @property
    def moved(self) -> bool:
        return bool(self.before and self.after and self.before.order != self.after.order)

    @property
    def slot_before(self) -> int | None:
        return _slot(self.before) if self.before else None

    @property
    def slot_after(self) -> int | None:
        return _slot(self.after) if self.after else None


def _slot(entry: AgendaEntry) -> int | None:
    # An entry's own slot where this version gives one, else the item's.
    return entry.time_slot_minutes or entry.item.time_slot_minutes


@dataclass(frozen=True)
class AgendaDiff:
    old: AgendaVersion
    new: AgendaVersion
    added: list[EntryChange] = field(default_factory=list)
    removed: list[EntryChange] = field(default_factory=list)
    status_changed: list[EntryChange] = field(default_factory=list)
    slot_changed: list[EntryChange] = field(default_factory=list)
    moved: list[EntryChange] = field(default_factory=list)
    unchanged: list[EntryChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.added or self.removed or self.status_changed or self.slot_changed or self.moved
        )


def agenda_version_diff(old: AgendaVersion, new: AgendaVersion) -> AgendaDiff:
    """What changed from `old` to `new`: items added, dropped, with a new status, a new time
    slot or a new place. An item marked removed in `new` counts as a status change (it is still
    listed there, struck); one absent from `new` counts as dropped. One query for both versions.
    """
    if old.meeting_id != new.meeting_id:
        raise ValidationError("Only two versions of the same meeting's agenda can be compared.")
    entries = (
        AgendaEntry.objects.filter(version__in=[old.pk, new.pk])
        .select_related("item", "removal_decision")
        .order_by("order", "id")
    )
    before: dict[int, AgendaEntry] = {}
    after: dict[int, AgendaEntry] = {}
    for entry in entries:
        if entry.version_id == old.pk:
            before[entry.item_id] = entry
        if entry.version_id == new.pk:
            after[entry.item_id] = entry
    diff = AgendaDiff(old=old, new=new)
    for item_id, entry in after.items():
        change = EntryChange(entry.item, before.get(item_id), entry)
        if change.before is None:
            diff.added.append(change)
            continue
        if change.status_changed:
            diff.status_changed.append(change)
        if change.slot_changed:
            diff.slot_changed.append(change)
        if change.moved:
            diff.moved.append(change)
        if not (change.status_changed or change.slot_changed or change.moved):
            diff.unchanged.append(change)
    diff.removed.extend(
        EntryChange(entry.item, entry, None)
        for item_id, entry in before.items()
        if item_id not in after
    )
    return diff
