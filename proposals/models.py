"""Letters, proposals, decisions and every participant's position on them."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from kp_tracker.locking import Versioned
from meetings.models import AgendaItem, Meeting
from participants.models import Observer, Participant, Person
from sources.models import DatePrecision, Source, Sourced, format_partial_date


class Letter(Sourced):
    class Publicity(models.TextChoices):
        PUBLIC = "public", "Published"
        LEAKED = "leaked", "Not published; seen or quoted by the press"
        UNKNOWN = "unknown", "Not known"

    slug = models.SlugField(
        max_length=120, unique=True, help_text="Stable public identifier, e.g. 2022-05-20-russia."
    )

    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
        help_text="How much of the date the sources give; the date is the first day of that span.",
    )
    date_note = models.CharField(
        max_length=300, blank=True, help_text="How the date was read from the source."
    )
    authors = models.ManyToManyField(Participant, related_name="letters", blank=True)
    observer_authors = models.ManyToManyField(Observer, related_name="letters", blank=True)
    signatory = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,  # the letter stays on record without its signatory
        null=True,
        blank=True,
        related_name="letters_signed",
    )
    signatory_label = models.CharField(
        max_length=200, blank=True, help_text="How the source describes an unnamed signatory."
    )
    addressee = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300)
    summary = models.TextField(help_text="In our own words.")
    publicity = models.CharField(max_length=8, choices=Publicity.choices, default=Publicity.UNKNOWN)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(subject=""),
                name="letter_subject_not_empty",
                violation_error_message="A letter needs a subject.",
            ),
        ]
        # Also letter_newest (date DESC NULLS LAST, id DESC), PostgreSQL only: migration 0014.
        indexes = [models.Index(fields=["date"], name="letter_date")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.date_display})"

    @property
    def date_display(self) -> str:
        return format_partial_date(self.date, self.date_precision)


class Quote(Versioned):
    """A short quotation, attributed to its speaker and to the source that reports it."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, null=True, blank=True, related_name="quotes"
    )
    text = models.CharField(max_length=600)
    speaker = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,  # keep the quote; speaker_label still says who spoke
        null=True,
        blank=True,
        related_name="quotes",
    )
    speaker_label = models.CharField(
        max_length=200,
        help_text="As the source describes the speaker, e.g. the Russian KP delegate.",
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,  # a quote without its source may not stand
        related_name="quotes",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text=""),
                name="quote_text_not_empty",
                violation_error_message="A quote needs its text.",
            ),
        ]

    def __str__(self) -> str:
        return f"“{self.text}” — {self.speaker_label}"


class Proposal(Sourced):
    class Kind(models.TextChoices):
        AGENDA_ITEM = "agenda_item", "Agenda item"
        SCHEME_AMENDMENT = "scheme_amendment", "Amendment to the certification scheme"
        DEFINITION_AMENDMENT = (
            "definition_amendment",
            "Amendment to the conflict-diamond definition",
        )
        SUSPENSION_OR_EXCLUSION = (
            "suspension_or_exclusion",
            "Suspension or exclusion motion",
        )
        COMMUNIQUE_TEXT = "communique_text", "Communique text"
        PROCEDURAL = "procedural", "Procedural"
        RESOLUTION = "resolution", "Resolution of another body"

    class Status(models.TextChoices):
        PENDING = "pending", "No decision on record"
        ADOPTED = "adopted", "Adopted"
        NOT_ADOPTED = "not_adopted", "Not adopted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    summary = models.TextField(blank=True)
    sponsors = models.ManyToManyField(Participant, related_name="proposals_sponsored", blank=True)
    observer_sponsors = models.ManyToManyField(
        Observer, related_name="proposals_sponsored", blank=True
    )
    sponsors_note = models.TextField(
        blank=True,
        help_text="What the sources say of sponsors they do not name, or disagree on.",
    )
    letters = models.ManyToManyField(Letter, related_name="proposals", blank=True)
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.PROTECT,  # a proposal put to a meeting is part of that meeting's record
        null=True,
        blank=True,
        related_name="proposals",
    )
    agenda_item = models.ForeignKey(
        AgendaItem,
        on_delete=models.SET_NULL,  # the proposal stands on its own if the item is deleted
        null=True,
        blank=True,
        related_name="proposals",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="proposal_title_not_empty",
                violation_error_message="A proposal needs a title.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DecisionQuerySet(models.QuerySet):
    def blocked(self) -> "DecisionQuerySet":
        return self.filter(outcome=Decision.Outcome.BLOCKED)

    def adopted(self) -> "DecisionQuerySet":
        return self.filter(outcome=Decision.Outcome.ADOPTED)

    def refresh_effective_dates(self) -> int:
        """Recompute the stored `effective_date` of these decisions from their date and their
        meeting's first day, in one UPDATE; for writers that bypass `Decision.save()`."""
        first_day = Meeting.objects.filter(pk=OuterRef("meeting_id")).values("start_date")[:1]
        return self.update(effective_date=Coalesce("date", Subquery(first_day)))


class Decision(Sourced):
    """A decision on one subject: an agenda item, a proposal, or a meeting's communique."""

    class SubjectKind(models.TextChoices):
        AGENDA_ITEM = "agenda_item", "Agenda item"
        PROPOSAL = "proposal", "Proposal"
        COMMUNIQUE = "communique", "Communique"

    class Method(models.TextChoices):
        MEETING = "meeting", "At a meeting"
        WRITTEN_PROCEDURE = "written_procedure", "By written procedure"
        # Objections lodged in letters before a meeting, as with the 2022 Kasane draft agenda.
        CORRESPONDENCE = "correspondence", "Through correspondence before a meeting"

    class Outcome(models.TextChoices):
        ADOPTED = "adopted", "Adopted"
        BLOCKED = "blocked", "Blocked"
        UNDETERMINED = "undetermined", "Undetermined"

    slug = models.SlugField(
        max_length=120,
        unique=True,
        help_text="Stable public identifier, e.g. 2022-kasane-russia-ukraine-item.",
    )
    title = models.CharField(max_length=300)
    subject_kind = models.CharField(max_length=12, choices=SubjectKind.choices)
    agenda_item = models.ForeignKey(
        AgendaItem,
        on_delete=models.PROTECT,  # a decision without its subject would be meaningless
        null=True,
        blank=True,
        related_name="decisions",
    )
    proposal = models.ForeignKey(
        Proposal,
        on_delete=models.PROTECT,  # as for agenda_item, above
        null=True,
        blank=True,
        related_name="decisions",
    )
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.PROTECT,  # decisions are the meeting's record; keep the meeting
        null=True,
        blank=True,
        related_name="decisions",
        help_text="The meeting that decided; for a communique, the meeting it would close.",
    )
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.MEETING)
    date = models.DateField(null=True, blank=True)
    date_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    # Stored, not computed per query: the pages and statistics sort and filter 20,000 decisions
    # by it, and Coalesce(date, meeting's start) can use no index (docs/benchmarks.md, Pages).
    # Kept by save() and by Meeting.save() (a new first day); bulk writers call
    # DecisionQuerySet.refresh_effective_dates() or set it themselves.
    effective_date = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="The day the decision counts from: its own date, else its meeting's first day.",
    )
    summary = models.TextField(blank=True)
    positions_complete = models.BooleanField(
        default=False,
        help_text=(
            "Every objection is on record, so a participant taking part with no recorded "
            "position consented. Leave off where the sources may have missed objectors."
        ),
    )
    reported_outcome = models.CharField(
        max_length=12,
        choices=Outcome.choices,
        default=Outcome.UNDETERMINED,
        help_text="What the sources report happened.",
    )
    outcome = models.CharField(
        max_length=12,
        choices=Outcome.choices,
        default=Outcome.UNDETERMINED,
        editable=False,
        help_text="Set by the consensus engine from the positions, never by hand.",
    )
    explanation = models.JSONField(default=dict, blank=True, editable=False)
    # Outcome under every other rule and counting, keyed "rule:counting", so the database can
    # answer "which decisions would differ under two-thirds?" without recomputing.
    counterfactuals = models.JSONField(default=dict, blank=True, editable=False)
    parties_concerned = models.ManyToManyField(
        Participant,
        related_name="decisions_concerning",
        blank=True,
        help_text="Participants whose own conduct is the subject (consensus minus the parties).",
    )
    history = HistoricalRecords(
        excluded_fields=["outcome", "explanation", "counterfactuals", "effective_date"]
    )

    objects = DecisionQuerySet.as_manager()

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        subject_kind="agenda_item",
                        agenda_item__isnull=False,
                        proposal__isnull=True,
                    )
                    | Q(
                        subject_kind="proposal",
                        proposal__isnull=False,
                        agenda_item__isnull=True,
                    )
                    | Q(
                        subject_kind="communique",
                        meeting__isnull=False,
                        agenda_item__isnull=True,
                        proposal__isnull=True,
                    )
                ),
                name="decision_subject_matches_kind",
                violation_error_message=(
                    "The subject must match its kind: an agenda item, a proposal, or a communique"
                    " (which needs its meeting), and only one of them."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(method="meeting") | Q(meeting__isnull=False),
                name="decision_at_meeting_names_meeting",
                violation_error_message="A decision taken at a meeting must name the meeting.",
            ),
            models.UniqueConstraint(
                fields=["meeting"],
                condition=Q(subject_kind="communique"),
                name="decision_one_communique_per_meeting",
                violation_error_message="This meeting already has a decision on its communique.",
            ),
            # The half of the effective date a row can check: its own date wins, and with no
            # date and no meeting there is none. The other half (the meeting's first day) is
            # out of a CHECK's reach; a trigger could keep it, but would need one dialect per
            # database (SQLite for `make run`) and hide a write from Django, whose instances
            # would then hold a stale value. Decision.save() and Meeting.save() keep it, and
            # tests/proposals/test_effective_date.py walks every write path.
            models.CheckConstraint(
                condition=Q(date__isnull=False, effective_date=F("date"))
                | Q(date__isnull=True, meeting__isnull=False, effective_date__isnull=False)
                | Q(date__isnull=True, meeting__isnull=True, effective_date__isnull=True),
                name="decision_effective_date_from_date",
                violation_error_message=(
                    "The effective date must be the decision's own date, else its meeting's."
                ),
            ),
        ]
        indexes = [
            # Oldest first (differing decisions, the API's default order) and year filters.
            # Newest first with undated last (the decisions index, a participant's positions,
            # the timeline): decision_effective_newest, PostgreSQL only (migration 0012).
            models.Index(fields=["effective_date", "id"], name="decision_effective_date"),
        ]
        # No index on `outcome` (there was one until migration 0011): the engine rewrites
        # outcomes, and an indexed column that changes rules out HOT updates, so every rewritten
        # decision put new entries in all eight of the table's indexes (the whole record's write:
        # 0.43 s on the server instead of 0.17-0.24 s). With three values it narrowed few queries
        # much, and where the statistics said "no blocked decision" (just after outcomes were
        # reset) the planner used it for the removed-item subquery, 5,002 times over every
        # blocked row: 14 to 26 s. Its cost to the statistics: docs/benchmarks.md.

    def __str__(self) -> str:
        return self.title

    def compute_effective_date(self):
        """Its own date, else its meeting's first day (reads the meeting if not loaded)."""
        if self.date is not None or self.meeting_id is None:
            return self.date
        try:
            return self.meeting.start_date
        except Meeting.DoesNotExist:  # an unknown meeting id; clean_fields reports it
            return None

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"date", "meeting", "meeting_id"} & set(update_fields):
            self.effective_date = self.compute_effective_date()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "effective_date"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # Before validate_constraints, which checks the effective date against the date.
        self.effective_date = self.compute_effective_date()
        if (
            self.agenda_item_id
            and self.meeting_id
            and self.agenda_item.meeting_id != self.meeting_id
        ):
            raise ValidationError(
                {"meeting": "The agenda item belongs to another meeting than this decision's."}
            )


class PositionQuerySet(models.QuerySet):
    def objections(self) -> "PositionQuerySet":
        return self.filter(stance=Position.Stance.OBJECTION)


class Position(Sourced):
    """One participant's (or observer's) stance on one decision, with the reason it gave."""

    class Stance(models.TextChoices):
        SUPPORT = "support", "Support"
        OBJECTION = "objection", "Objection"
        ABSTENTION = "abstention", "Abstention"
        NO_POSITION = "no_position", "No position"

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="positions")
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,  # a position is history; keep the participant that held it
        null=True,
        blank=True,
        related_name="positions",
    )
    observer = models.ForeignKey(
        Observer,
        on_delete=models.PROTECT,  # as for participant, above
        null=True,
        blank=True,
        related_name="positions",
    )
    stance = models.CharField(max_length=12, choices=Stance.choices)
    reason = models.TextField(
        blank=True, help_text="The reason its holder gave, where one was given."
    )
    letter = models.ForeignKey(
        Letter,
        on_delete=models.SET_NULL,  # the position stands without the letter that stated it
        null=True,
        blank=True,
        related_name="positions",
    )
    history = HistoricalRecords()

    objects = PositionQuerySet.as_manager()

    class Meta:
        ordering = ["decision", "participant__code", "observer__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(participant__isnull=False, observer__isnull=True)
                | Q(participant__isnull=True, observer__isnull=False),
                name="position_holder_participant_xor_observer",
                violation_error_message=(
                    "A position is held by a participant or by an observer: exactly one of them."
                ),
            ),
            models.UniqueConstraint(
                fields=["decision", "participant"],
                condition=Q(participant__isnull=False),
                name="position_one_per_participant",
                violation_error_message="This participant already has a position on this decision.",
            ),
            models.UniqueConstraint(
                fields=["decision", "observer"],
                condition=Q(observer__isnull=False),
                name="position_one_per_observer",
                violation_error_message="This observer already has a position on this decision.",
            ),
        ]
        indexes = [
            # With the decision in the index, aggregates over a participant's objections (the
            # participants index, a participant's totals and co-objectors) read no table row:
            # 22,000 scattered heap fetches of the synthetic record's objections cost 8-9 ms.
            models.Index(
                fields=["stance", "participant"],
                include=["decision"],
                name="position_stance_holder",
            ),
            # The consensus engine counts only these stances (engine.COUNTED_STANCES); with their
            # ids in the index it answers its tallies without reading the table, 0.2 to 0.6 s
            # less over 1.7 million positions (docs/benchmarks.md).
            models.Index(
                fields=["decision", "participant", "stance"],
                include=["id"],
                condition=Q(stance__in=["support", "objection", "abstention"]),
                name="position_counted",
            ),
            # The API's objections list pages newest first by id: without this the page scans
            # the 1.7 million positions backwards for the 1.3 % that are objections (0.8 ms of
            # execution per page on the synthetic record; docs/benchmarks.md, API).
            models.Index(
                fields=["-id"],
                condition=Q(stance="objection", participant__isnull=False),
                name="position_objection_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stance_display()} on decision {self.decision_id}"


class ReportedAccount(Sourced):
    """A source's account of a decision that differs from the positions on record.

    Sources disagree (Reuters names five objectors in June 2022; the Moscow Times, citing the
    NYT, names Russia, China and Belarus). The positions follow one account; every other
    account is kept here with its own source rather than silently dropped.
    """

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="accounts")
    claim = models.TextField(help_text="What this source says, in our own words.")
    named_objectors = models.ManyToManyField(
        Participant, related_name="reported_objections", blank=True
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["decision", "id"]

    def __str__(self) -> str:
        return f"Account of decision {self.decision_id}"
