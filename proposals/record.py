"""Load the real record (the YAML files under record/) into the database, idempotently.

Each record is matched on its stable public identifier (ISO code, slug, key, or a natural key
such as meeting and title), written only when something differs, and validated with
`full_clean()`; the whole load is one transaction, so a bad file changes nothing. Running the
load twice therefore writes nothing the second time, not even a history row.

The files are read in a fixed order (sources.yaml, participants.yaml, then the years), and their
sections are applied in dependency order, so a new year is a new file, not a code change.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Meeting, Session
from participants.models import (
    Chairmanship,
    Observer,
    Participant,
    ParticipantStatus,
    Person,
    Role,
    WorkingBody,
)
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount
from sources.models import Source

RECORD_DIR = Path(settings.BASE_DIR) / "record"
SECTIONS = (
    "sources",
    "participants",
    "participant_statuses",
    "observers",
    "people",
    "working_bodies",
    "chairmanships",
    "meetings",
    "letters",
    "proposals",
    "decisions",
)


class RecordError(Exception):
    """A record file names something that does not exist or holds an invalid record."""


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return "The record is up to date: nothing changed."
        parts = [f"{n} {name} created" for name, n in sorted(self.created.items())]
        parts += [f"{n} {name} updated" for name, n in sorted(self.updated.items())]
        return "; ".join(parts) + "."


def read_record(directory: Path = RECORD_DIR) -> dict[str, list[dict[str, Any]]]:
    files = sorted(directory.glob("*.yaml"), key=_file_order)
    if not files:
        raise RecordError(f"No record files (*.yaml) in {directory}.")
    merged: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    for path in files:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        unknown = set(content) - set(SECTIONS)
        if unknown:
            raise RecordError(f"{path.name}: unknown sections {sorted(unknown)}.")
        for name, rows in content.items():
            merged[name].extend(rows or [])
    return merged


def _file_order(path: Path) -> tuple[int, str]:
    fixed = {"sources.yaml": 0, "participants.yaml": 1}
    return (fixed.get(path.name, 2), path.name)


def load_record(directory: Path = RECORD_DIR) -> LoadReport:
    """Load every record file in `directory`; raise RecordError, changing nothing, on bad input."""
    data = read_record(directory)
    # One recompute at the end, not one per participant and position saved.
    with transaction.atomic(), engine.deferred():
        return _Loader(data).run()


class _Loader:
    def __init__(self, data: dict[str, list[dict[str, Any]]]):
        self.data = data
        self.report = LoadReport()

    def run(self) -> LoadReport:
        for row in self.data["sources"]:
            self.upsert(Source, {"key": row.pop("key")}, row)
        for row in self.data["participants"]:
            self.sourced(Participant, {"code": row.pop("code")}, row)
        for row in self.data["participant_statuses"]:
            participant = self.ref(Participant, code=row.pop("participant"))
            lookup = {
                "participant": participant,
                "status": row.pop("status"),
                "start_date": row.pop("start_date", None),
            }
            self.sourced(ParticipantStatus, lookup, row)
        for row in self.data["observers"]:
            self.sourced(Observer, {"code": row.pop("code")}, row)
        for row in self.data["people"]:
            roles = row.pop("roles", [])
            person = self.sourced(Person, {"slug": row.pop("slug")}, row)
            for role in roles:
                lookup = {
                    "person": person,
                    "title": role.pop("title"),
                    "participant": self.optional(
                        Participant, "code", role.pop("participant", None)
                    ),
                    "observer": self.optional(Observer, "code", role.pop("observer", None)),
                }
                self.sourced(Role, lookup, role)
        for row in self.data["working_bodies"]:
            self.sourced(WorkingBody, {"slug": row.pop("slug")}, row)
        for row in self.data["chairmanships"]:
            lookup = {
                "year": row.pop("year"),
                "body": self.optional(WorkingBody, "slug", row.pop("body", None)),
                "vice": row.pop("vice", False),
            }
            row["participant"] = self.ref(Participant, code=row["participant"])
            row["person"] = self.optional(Person, "slug", row.get("person"))
            self.sourced(Chairmanship, lookup, row)
        agendas = [self.meeting(row) for row in self.data["meetings"]]
        for row in self.data["letters"]:
            self.letter(row)
        for row in self.data["proposals"]:
            self.proposal(row)
        for row in self.data["decisions"]:
            self.decision(row)
        # Agenda versions last: a removed entry points at the decision that removed it.
        for meeting, versions in agendas:
            for version in versions:
                self.agenda_version(meeting, version)
        return self.report

    # --- one kind of record each -------------------------------------------------------------

    def meeting(self, row: dict[str, Any]) -> tuple[Meeting, list[dict[str, Any]]]:
        items = row.pop("agenda_items", [])
        versions = row.pop("agenda_versions", [])
        sessions = row.pop("sessions", [])
        for key in ("host", "chair"):
            row[key] = self.optional(Participant, "code", row.get(key))
        row["chair_person"] = self.optional(Person, "slug", row.get("chair_person"))
        meeting = self.sourced(Meeting, {"slug": row.pop("slug")}, row)
        for item in items:
            proposers = [self.ref(Participant, code=c) for c in item.pop("proposers", [])]
            observers = [self.ref(Observer, code=c) for c in item.pop("observer_proposers", [])]
            agenda_item = self.sourced(
                AgendaItem, {"meeting": meeting, "title": item.pop("title")}, item
            )
            self.set_m2m(agenda_item, "proposers", proposers)
            self.set_m2m(agenda_item, "observer_proposers", observers)
        for session in sessions:
            boycotters = [self.ref(Participant, code=c) for c in session.pop("boycotted_by", [])]
            session["chaired_by"] = self.optional(Participant, "code", session.get("chaired_by"))
            saved = self.sourced(
                Session, {"meeting": meeting, "title": session.pop("title")}, session
            )
            self.set_m2m(saved, "boycotted_by", boycotters)
        return meeting, versions

    def agenda_version(self, meeting: Meeting, row: dict[str, Any]) -> None:
        entries = row.pop("entries", [])
        version = self.sourced(
            AgendaVersion, {"meeting": meeting, "number": row.pop("number")}, row
        )
        for order, entry in enumerate(entries, start=1):
            item = self.ref(AgendaItem, meeting=meeting, title=entry.pop("item"))
            entry["removal_decision"] = self.optional(
                Decision, "slug", entry.get("removal_decision")
            )
            entry.setdefault("order", order)
            self.upsert(AgendaEntry, {"version": version, "item": item}, entry)

    def letter(self, row: dict[str, Any]) -> None:
        quotes = row.pop("quotes", [])
        authors = [self.ref(Participant, code=c) for c in row.pop("authors", [])]
        observers = [self.ref(Observer, code=c) for c in row.pop("observer_authors", [])]
        row["signatory"] = self.optional(Person, "slug", row.get("signatory"))
        letter = self.sourced(Letter, {"slug": row.pop("slug")}, row)
        self.set_m2m(letter, "authors", authors)
        self.set_m2m(letter, "observer_authors", observers)
        for quote in quotes:
            quote["speaker"] = self.optional(Person, "slug", quote.get("speaker"))
            quote["source"] = self.ref(Source, key=quote["source"])
            self.upsert(Quote, {"letter": letter, "text": quote.pop("text")}, quote)

    def proposal(self, row: dict[str, Any]) -> None:
        sponsors = [self.ref(Participant, code=c) for c in row.pop("sponsors", [])]
        observers = [self.ref(Observer, code=c) for c in row.pop("observer_sponsors", [])]
        letters = [self.ref(Letter, slug=s) for s in row.pop("letters", [])]
        row["meeting"] = self.optional(Meeting, "slug", row.get("meeting"))
        if row.get("agenda_item"):
            row["agenda_item"] = self.ref(
                AgendaItem, meeting=row["meeting"], title=row["agenda_item"]
            )
        proposal = self.sourced(Proposal, {"slug": row.pop("slug")}, row)
        self.set_m2m(proposal, "sponsors", sponsors)
        self.set_m2m(proposal, "observer_sponsors", observers)
        self.set_m2m(proposal, "letters", letters)

    def decision(self, row: dict[str, Any]) -> None:
        positions = row.pop("positions", [])
        accounts = row.pop("accounts", [])
        concerned = [self.ref(Participant, code=c) for c in row.pop("parties_concerned", [])]
        row["meeting"] = self.optional(Meeting, "slug", row.get("meeting"))
        if row.get("agenda_item"):
            row["agenda_item"] = self.ref(
                AgendaItem, meeting=row["meeting"], title=row["agenda_item"]
            )
        row["proposal"] = self.optional(Proposal, "slug", row.get("proposal"))
        decision = self.sourced(Decision, {"slug": row.pop("slug")}, row)
        self.set_m2m(decision, "parties_concerned", concerned)
        for position in positions:
            lookup = {
                "decision": decision,
                "participant": self.optional(
                    Participant, "code", position.pop("participant", None)
                ),
                "observer": self.optional(Observer, "code", position.pop("observer", None)),
            }
            position["letter"] = self.optional(Letter, "slug", position.get("letter"))
            self.sourced(Position, lookup, position)
        for account in accounts:
            named = [self.ref(Participant, code=c) for c in account.pop("named_objectors", [])]
            saved = self.sourced(
                ReportedAccount,
                {"decision": decision, "claim": account.pop("claim").strip()},
                account,
            )
            self.set_m2m(saved, "named_objectors", named)

    # --- generic writes ----------------------------------------------------------------------

    def sourced(self, model: type[models.Model], lookup: dict, values: dict) -> models.Model:
        keys = values.pop("sources", None)
        if not keys:
            raise RecordError(f"{model.__name__} {_describe(lookup)} has no sources.")
        obj = self.upsert(model, lookup, values)
        self.set_m2m(obj, "sources", [self.ref(Source, key=key) for key in keys])
        return obj

    def upsert(self, model: type[models.Model], lookup: dict, values: dict) -> models.Model:
        values = {key: _clean_text(value) for key, value in values.items()}
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = model(**lookup, **values)
            self.report.created[model._meta.verbose_name_plural] += 1
        else:
            changed = {
                key: value
                for key, value in values.items()
                if _current(obj, key) != _comparable(value)
            }
            if not changed:
                return obj
            for key, value in changed.items():
                setattr(obj, key, value)
            self.report.updated[model._meta.verbose_name_plural] += 1
        try:
            obj.full_clean()
        except ValidationError as exc:
            raise RecordError(f"{model.__name__} {_describe(lookup)}: {exc.message_dict}") from exc
        obj.save()
        return obj

    def set_m2m(self, obj: models.Model, name: str, targets: list[models.Model]) -> None:
        manager = getattr(obj, name)
        wanted = {target.pk for target in targets}
        if set(manager.values_list("pk", flat=True)) != wanted:
            manager.set(targets)
            self.report.updated[f"{obj._meta.verbose_name} {name}"] += 1

    def ref(self, model: type[models.Model], **lookup: Any) -> models.Model:
        try:
            return model.objects.get(**lookup)
        except model.DoesNotExist as exc:
            raise RecordError(f"No {model.__name__} with {_describe(lookup)}.") from exc

    def optional(self, model: type[models.Model], key: str, value: Any) -> models.Model | None:
        return None if value in (None, "") else self.ref(model, **{key: value})


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _current(obj: models.Model, key: str) -> Any:
    model_field = obj._meta.get_field(key)
    return getattr(obj, model_field.attname)


def _comparable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime.datetime):
        return value.date()
    return value


def _describe(lookup: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in lookup.items())
