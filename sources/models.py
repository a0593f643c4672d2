"""Sources: the public documents every fact in the record rests on.

A source is a first-class row that facts link to (many-to-many), so a researcher can follow any
fact to the document it came from and a source can be listed with everything it supports.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from kp_tracker.locking import Versioned


class DatePrecision(models.TextChoices):
    """How much of a partial date a source actually gives ("earlier this month" is a month)."""

    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"


def format_partial_date(value, precision: str) -> str:
    if value is None:
        return "date not known"
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%B %Y}"
    return f"{value.day} {value:%B %Y}"


class Source(Versioned):
    class Kind(models.TextChoices):
        PRESS_REPORT = "press_report", "Press report"
        OFFICIAL_STATEMENT = "official_statement", "Official statement"
        OFFICIAL_RECORD = "official_record", "Official record or website"
        OTHER = "other", "Other"

    key = models.SlugField(
        max_length=80,
        unique=True,
        help_text="Stable identifier, e.g. reuters-2022-06-16.",
    )
    publisher = models.CharField(max_length=200)
    title = models.CharField(max_length=500)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.PRESS_REPORT)
    published_on = models.DateField(null=True, blank=True)
    published_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    url = models.URLField(max_length=500, blank=True)
    archive_copy = models.CharField(
        max_length=200,
        blank=True,
        help_text="File name of the archived text in the project's source archive, where kept.",
    )
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["published_on", "publisher", "title"]
        constraints = [
            # A source nobody can follow is no source: it needs a URL or an archived copy.
            models.CheckConstraint(
                condition=~Q(url="") | ~Q(archive_copy=""),
                name="source_url_or_archive_copy",
                violation_error_message=(
                    "A source needs a URL or an archived copy, so researchers can follow it."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(title=""),
                name="source_title_not_empty",
                violation_error_message="A source needs a title.",
            ),
            models.CheckConstraint(
                condition=~Q(publisher=""),
                name="source_publisher_not_empty",
                violation_error_message="A source needs a publisher.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.publisher}, “{self.title}” ({self.published_display})"

    @property
    def published_display(self) -> str:
        return format_partial_date(self.published_on, self.published_precision)


class Sourced(Versioned):
    """Abstract base for every factual record: it carries one or more sources, and a revision
    number that refuses a save from a stale copy (`kp_tracker.locking`)."""

    sources = models.ManyToManyField(Source, related_name="%(app_label)s_%(class)s_set")

    class Meta:
        abstract = True


class RecordVersion(models.Model):
    """The record's current version: one row whose token every write to the record replaces.

    Rendered pages are kept under the token they were rendered at (`sources.pages`), so a page
    whose token is not the current one is out of date. The row is written in the writing
    transaction itself, so the new token and the new rows become visible together: no reader
    can see the new token with the old rows. Only `sources.pages` writes it, by UPDATE, never by
    save(), which would announce a write to the record and replace the token again.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="record_version_single_row",
                violation_error_message="The record has one version row.",
            ),
        ]

    def __str__(self) -> str:
        return f"record version {self.token} of {self.changed_at:%Y-%m-%d %H:%M:%S}"
