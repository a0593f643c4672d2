"""Who takes part in the Kimberley Process: participants, observers, people and chairs."""

import datetime

from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from simple_history.models import HistoricalRecords

from sources.models import Sourced


class ParticipantQuerySet(models.QuerySet):
    def in_good_standing_on(self, day: datetime.date) -> "ParticipantQuerySet":
        """Participants that had joined by `day` and were neither suspended nor withdrawn then.

        A participant under a partial embargo (the Central African Republic) still takes part in
        decisions, so it stays in good standing. A participant with no recorded status is active.
        The consensus engine applies the same test in SQL (`standing_q`), so keep them together.
        """
        return self.filter(standing_q(day))


def standing_q(day: datetime.date | str, prefix: str = "", *, per_row: bool = False) -> Q:
    """The good-standing test on a participant reached through `prefix` (e.g. "participant__").

    `day` is a date, or the name of a date field or annotation of the queryset being filtered
    (the consensus engine passes each decision's effective date).

    `per_row` gives the same test in a form for large scans where it cannot become an anti-join
    (under an OR, as in the engine's tallies): participants never suspended or withdrawn, most
    of them, are let through by one hashed lookup before the subquery on dates, which otherwise
    runs once per row (a quarter of a second over the synthetic record, docs/benchmarks.md).
    """
    direct, inner = (F(day), OuterRef(day)) if isinstance(day, str) else (day, day)
    barring = [ParticipantStatus.Status.SUSPENDED, ParticipantStatus.Status.WITHDRAWN]
    barred = ParticipantStatus.objects.filter(
        participant=OuterRef(f"{prefix}pk" if prefix else "pk"),
        status__in=barring,
    ).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=inner),
        Q(end_date__isnull=True) | Q(end_date__gte=inner),
    )
    joined = Q(**{f"{prefix}joined_on__isnull": True}) | Q(**{f"{prefix}joined_on__lte": direct})
    if not per_row:
        return joined & ~Exists(barred)
    ever_barred = ParticipantStatus.objects.filter(status__in=barring).values("participant")
    return joined & (~Q(**{f"{prefix}pk__in": ever_barred}) | ~Exists(barred))


class Participant(Sourced):
    """A state, or a regional organisation acting as one participant for its members (the EU)."""

    class Kind(models.TextChoices):
        STATE = "state", "State"
        REGIONAL_ORGANISATION = "regional_organisation", "Regional organisation"

    code = models.CharField(
        max_length=2,
        unique=True,
        help_text="ISO 3166-1 alpha-2 code; EU for the European Union.",
    )
    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.STATE)
    joined_on = models.DateField(
        null=True, blank=True, help_text="Leave empty where no source gives the date."
    )
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{2}$"),
                name="participant_code_iso_alpha2",
                violation_error_message=(
                    "The code must be two capital letters (ISO 3166-1 alpha-2; EU for the "
                    "European Union)."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(name=""),
                name="participant_name_not_empty",
                violation_error_message="A participant needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Lets the engine's signal tell whether the joining date changed when this is saved.
        instance._joined_on_loaded = instance.__dict__.get("joined_on")
        return instance


class ParticipantStatusQuerySet(models.QuerySet):
    def covering(self, day: datetime.date) -> "ParticipantStatusQuerySet":
        return self.filter(
            Q(start_date__isnull=True) | Q(start_date__lte=day),
            Q(end_date__isnull=True) | Q(end_date__gte=day),
        )


class ParticipantStatus(Sourced):
    """A participant's standing over a period; the absence of a record means active."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        PARTIAL_EMBARGO = "partial_embargo", "Under partial embargo"
        WITHDRAWN = "withdrawn", "Withdrawn"

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="statuses")
    status = models.CharField(max_length=20, choices=Status.choices)
    start_date = models.DateField(
        null=True, blank=True, help_text="Empty when the source gives no start date."
    )
    end_date = models.DateField(null=True, blank=True, help_text="Empty while in force.")
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    objects = ParticipantStatusQuerySet.as_manager()

    class Meta:
        ordering = ["participant__name", "start_date"]
        verbose_name_plural = "participant statuses"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="participant_status_end_after_start",
                violation_error_message="The status cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.code}: {self.get_status_display()}"


class Observer(Sourced):
    """An organisation that speaks and proposes but whose objection never blocks consensus."""

    code = models.SlugField(max_length=20, unique=True, help_text="Short stable code, e.g. kpcsc.")
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="observer_name_not_empty",
                violation_error_message="An observer needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Person(Sourced):
    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""),
                name="person_name_not_empty",
                violation_error_message="A person needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(Sourced):
    """A person speaking for a participant or an observer in some capacity over a date range."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="roles")
    title = models.CharField(max_length=200, help_text="e.g. KP delegate, KP Chair, minister.")
    participant = models.ForeignKey(
        Participant,
        # A person's role is part of the participant's record: deleting a participant that
        # people spoke for must be a deliberate clean-up, not a side effect.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="roles",
    )
    observer = models.ForeignKey(
        Observer,
        on_delete=models.PROTECT,  # as for participant, above
        null=True,
        blank=True,
        related_name="roles",
    )
    organisation = models.CharField(
        max_length=200,
        blank=True,
        help_text="The body within the participant, e.g. the European Commission.",
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["person__name", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(participant__isnull=True) | Q(observer__isnull=True),
                name="role_for_participant_or_observer_not_both",
                violation_error_message=(
                    "A role speaks for a participant or for an observer, not both."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="role_end_after_start",
                violation_error_message="The role cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.name}, {self.title}"


class WorkingBody(Sourced):
    """A committee or working group of the KP."""

    class Kind(models.TextChoices):
        COMMITTEE = "committee", "Committee"
        WORKING_GROUP = "working_group", "Working group"
        OTHER = "other", "Other body"

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "working bodies"

    def __str__(self) -> str:
        return self.name


class Chairmanship(Sourced):
    """Who chaired the KP (body empty) or one of its working bodies in a given year."""

    year = models.PositiveSmallIntegerField()
    body = models.ForeignKey(
        WorkingBody,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chairmanships",
        help_text="Empty for the chair of the Kimberley Process itself.",
    )
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,  # a chairmanship is history; keep the participant it names
        related_name="chairmanships",
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,  # the chairing participant stays on record without the person
        null=True,
        blank=True,
        related_name="chairmanships",
    )
    vice = models.BooleanField(default=False, help_text="Vice-chair rather than chair.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-year", "body__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "body", "vice"],
                name="chairmanship_one_per_body_year",
                violation_error_message=(
                    "This body already has a chair (or vice-chair) for that year."
                ),
            ),
            models.UniqueConstraint(
                fields=["year", "vice"],
                condition=Q(body__isnull=True),
                name="chairmanship_one_kp_chair_per_year",
                violation_error_message="The KP already has a chair (or vice-chair) for that year.",
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2100),
                name="chairmanship_year_plausible",
                violation_error_message="The year must lie between 2000 and 2100.",
            ),
        ]

    def __str__(self) -> str:
        # Admin lists select_related("body", "participant"), so this costs no query there.
        office = "Vice-chair" if self.vice else "Chair"
        where = "the KP" if self.body_id is None else self.body.name
        return f"{self.year}: {office} of {where}, {self.participant.name}"
