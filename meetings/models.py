"""Meetings of the KP, their agendas as they changed from version to version, and sessions."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from kp_tracker.locking import Versioned
from participants.models import Observer, Participant, Person
from sources.models import Sourced


class MeetingQuerySet(models.QuerySet):
    def in_year(self, year: int) -> "MeetingQuerySet":
        return self.filter(start_date__year=year)


class Meeting(Sourced):
    class Kind(models.TextChoices):
        PLENARY = "plenary", "Plenary"
        INTERSESSIONAL = "intersessional", "Intersessional"
        EXTRAORDINARY = "extraordinary", "Extraordinary"
        # Meetings of other bodies that decide on the KP, such as the UN General Assembly.
        EXTERNAL = "external", "Meeting of another body"

    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text="Stable public identifier, e.g. 2022-intersessional-kasane.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(
        max_length=200,
        blank=True,
        help_text="Only where the meeting has a name of its own.",
    )
    host = models.ForeignKey(
        Participant,
        # A meeting's host is part of history: refuse to delete a participant that hosted one.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings_hosted",
    )
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=120, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    chair = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,  # as for host, above
        null=True,
        blank=True,
        related_name="meetings_chaired",
    )
    chair_person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,  # the chairing participant stays on record without the person
        null=True,
        blank=True,
        related_name="meetings_chaired",
    )
    communique_adopted = models.BooleanField(
        null=True,
        blank=True,
        help_text="Empty until known; no for a meeting that ended without a final communique.",
    )
    summary = models.TextField(blank=True)
    attendees = models.ManyToManyField(
        Participant,
        through="Attendance",
        related_name="meetings_attended",
        blank=True,
    )
    history = HistoricalRecords()

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="meeting_end_after_start",
                violation_error_message="The meeting cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(slug=""),
                name="meeting_slug_not_empty",
                violation_error_message="A meeting needs a slug.",
            ),
        ]
        indexes = [models.Index(fields=["kind", "start_date"], name="meeting_kind_start")]

    def __str__(self) -> str:
        place = self.city or self.country
        return f"{self.start_date.year} {self.get_kind_display().lower()}" + (
            f", {place}" if place else ""
        )

    @property
    def full_name(self) -> str:
        """The name pages give the meeting: "2022 intersessional, Kasane", then its title if it
        has one. A property rather than an included template: lists show it once a row."""
        return f"{self}: {self.title}" if self.title else str(self)

    @property
    def year(self) -> int:
        return self.start_date.year

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so a save that moves the first day can tell, with no query, that its
        # decisions' stored effective dates must follow (proposals/signals.py).
        instance._loaded_start_date = instance.__dict__.get("start_date")
        return instance


class Attendance(models.Model):
    """A participant recorded as taking part in a meeting (where attendance is recorded)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,  # attendance is history; keep the participant it names
        related_name="attendance",
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "participant"],
                name="attendance_one_per_participant",
                violation_error_message=(
                    "This participant is already recorded as attending the meeting."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} at {self.meeting_id}"


class AgendaVersion(Sourced):
    """One version of a meeting's agenda: a dated draft, a revision, or the agenda as adopted."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_versions")
    number = models.PositiveSmallIntegerField(help_text="1 for the first version known, and so on.")
    label = models.CharField(max_length=200, help_text="e.g. Draft agenda, Agenda as adopted.")
    dated = models.DateField(null=True, blank=True, help_text="Empty when no source dates it.")
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "number"],
                name="agenda_version_number_unique",
                violation_error_message=(
                    "This meeting already has an agenda version with that number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1),
                name="agenda_version_number_positive",
                violation_error_message="Agenda versions are numbered from 1.",
            ),
        ]

    def __str__(self) -> str:
        when = f" of {self.dated:%-d %B %Y}" if self.dated else ""
        return f"{self.label}{when} (v{self.number})"


class AgendaItem(Sourced):
    """An item that stood on (or was proposed for) a meeting's agenda, across its versions."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    time_slot_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Time allotted, where a source gives it (e.g. 60).",
    )
    proposers = models.ManyToManyField(
        Participant, related_name="agenda_items_proposed", blank=True
    )
    observer_proposers = models.ManyToManyField(
        Observer, related_name="agenda_items_proposed", blank=True
    )
    proposers_note = models.TextField(
        blank=True,
        help_text="What the sources say of proposers they do not name, or disagree on.",
    )
    removed_by = models.ForeignKey(
        "proposals.Decision",
        # Set by the consensus engine from a blocked decision on this item; if that decision is
        # deleted the item is simply no longer marked removed.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="items_removed",
    )
    history = HistoricalRecords(excluded_fields=["removed_by"])

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "title"],
                name="agenda_item_title_unique",
                violation_error_message="This meeting already has an agenda item with that title.",
            ),
            models.CheckConstraint(
                condition=~Q(title=""),
                name="agenda_item_title_not_empty",
                violation_error_message="An agenda item needs a title.",
            ),
            models.CheckConstraint(
                condition=Q(time_slot_minutes__isnull=True) | Q(time_slot_minutes__gt=0),
                name="agenda_item_time_slot_positive",
                violation_error_message="A time slot must be longer than zero minutes.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AgendaEntry(Versioned):
    """An item's place and status in one agenda version, so its history can be shown."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        INCLUDED = "included", "Included"
        REMOVED = "removed", "Removed"
        DEFERRED = "deferred", "Deferred"
        DISCUSSED = "discussed", "Discussed"

    version = models.ForeignKey(AgendaVersion, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="entries")
    status = models.CharField(max_length=12, choices=Status.choices)
    order = models.PositiveSmallIntegerField(default=0)
    time_slot_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Only where this version gives the item a different slot.",
    )
    removal_decision = models.ForeignKey(
        "proposals.Decision",
        # The decision is the reason the item went; deleting it would leave a removal unexplained.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="removed_entries",
        help_text="The decision whose objections removed the item (required when removed).",
    )
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order", "id"]
        verbose_name_plural = "agenda entries"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "item"],
                name="agenda_entry_one_per_version",
                violation_error_message="This item already appears in this agenda version.",
            ),
            models.CheckConstraint(
                condition=~Q(status="removed") | Q(removal_decision__isnull=False),
                name="agenda_entry_removal_has_decision",
                violation_error_message=(
                    "A removed item must name the decision whose objections removed it."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status="removed") | Q(removal_decision__isnull=True),
                name="agenda_entry_decision_only_when_removed",
                violation_error_message="Only a removed item names a removal decision.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.title}: {self.get_status_display()}"

    def clean(self) -> None:
        if self.version_id and self.item_id and self.item.meeting_id != self.version.meeting_id:
            raise ValidationError(
                {"item": "The item belongs to another meeting than this agenda version."}
            )


class Session(Sourced):
    """A session of a meeting, where something about it is on record (chair, boycott, press)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    date = models.DateField(null=True, blank=True)
    chaired_by = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,  # session history names the participant; keep it
        null=True,
        blank=True,
        related_name="sessions_chaired",
    )
    boycotted_by = models.ManyToManyField(
        Participant, related_name="sessions_boycotted", blank=True
    )
    press_excluded = models.BooleanField(
        null=True,
        blank=True,
        help_text="Journalists asked to leave; empty when not known.",
    )
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "title"],
                name="session_title_unique",
                violation_error_message="This meeting already has a session with that title.",
            ),
        ]

    def __str__(self) -> str:
        return self.title
