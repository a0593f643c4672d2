"""A synthetic record of any size, for measuring the engine, the pages and the API at scale.

The record is reproducible: one seeded `random.Random` draws everything in a fixed order, so the
same seed, sizes and pre-existing participant codes give the same rows (ids aside). It is built
to look like the real one where that matters to the queries: most decisions adopted by silence,
objections coming from recurring blocs (so co-objection statistics have something to find),
lone objectors, contested votes, parties concerned who object, suspended participants, meetings
with recorded attendance, observers' objections, letters with authors and searchable summaries,
and agenda versions whose removed entries point at the blocked decisions that removed them.

Every participant has a position on every decision (most of them "no position"), which is what
makes the default size 1.7 million positions. Rows are written with `bulk_create` (no signals,
so no recomputation per row) and, on PostgreSQL, the positions with COPY; the engine then runs
once over the whole record (`engine.recompute()`), timed on its own.

Everything synthetic can be found again and deleted (`flush`): slugs start with `synthetic-`,
participants' names with "Synthetic participant", and top-level records carry one synthetic
Source (positions, attendance and agenda entries hang off records that do).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from django.db import connection, models, transaction
from django.dispatch import Signal

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Attendance, Meeting
from participants.models import Observer, Participant, ParticipantStatus
from proposals.consensus import engine
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import DatePrecision, Source
from sources.pages import record_changed

PREFIX = "synthetic-"
PARTICIPANT_NAME_PREFIX = "Synthetic participant"
SOURCE_KEY = "synthetic-record"
FIRST_DAY = datetime.date(2003, 1, 1)
LAST_DAY = datetime.date(2024, 12, 31)
POSITION_CHUNK = 100_000  # rows per COPY or bulk_create batch of positions
BATCH = 5_000  # bulk_create batch size for everything else

# ISO 3166-1 alpha-2 codes assigned to countries, plus EU, UK and XK, which the KP record may use.
# Synthetic participants take other codes first, so the real record can still be loaded beside a
# synthetic one without its participants being matched to synthetic ones by code.
ISO_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UK UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE
    YT ZA ZM ZW
    """.split()
)

TOPICS = [
    "Definition of conflict diamonds",
    "Review and reform cycle",
    "Peer review visits",
    "Annual statistics",
    "Artisanal and alluvial production",
    "Monitoring of the Central African Republic",
    "Administrative support mechanism",
    "Working Group on Monitoring",
    "Working Group of Diamond Experts",
    "Rules of procedure",
    "Observer participation",
    "Footprint analysis of rough diamonds",
    "Chain of custody and traceability",
    "Synthetic and laboratory-grown diamonds",
    "Sanctions and certificate verification",
    "Permanent secretariat",
    "Budget of the certification scheme",
    "Civil society participation",
    "Border controls and smuggling",
    "Valuation of rough diamonds",
    "Applications for participation",
    "Capacity building in producing countries",
    "Responsible sourcing guidance",
    "Implementation of the Washington framework",
    "Communique drafting",
]
ACTIONS = [
    "asks the Chair to place {topic} on the agenda",
    "objects to the draft text on {topic}",
    "proposes an ad hoc committee on {topic}",
    "supports the proposal on {topic}",
    "requests more time to consult its capital on {topic}",
    "reports on its implementation of the decision on {topic}",
    "questions whether {topic} falls within the scope of the scheme",
    "offers to host an expert meeting on {topic}",
]
DETAILS = [
    "The letter cites the core document and earlier plenary decisions.",
    "It warns that consensus will not be reached without further consultation.",
    "It attaches statistics for the previous reporting period.",
    "It recalls the mandate given by the last plenary meeting.",
    "It proposes that the matter be settled by written procedure.",
    "It argues that the question is political and outside the scheme's remit.",
    "It names the working body it wants to take the matter forward.",
    "It asks that its position be recorded in the final communique.",
]
OBJECTION_REASONS = [
    "The proposal lies outside the scope of the certification scheme.",
    "The text has not been consulted with capitals.",
    "The matter is political and belongs to another forum.",
    "The proposal would burden small producers.",
    "The decision would single out one participant.",
    "The wording departs from the agreed definition.",
]
SUPPORT_REASONS = [
    "The proposal strengthens the scheme's credibility.",
    "The text reflects the working group's recommendation.",
    "The matter is urgent and within the scheme's mandate.",
]
MEETING_KINDS = [
    (Meeting.Kind.PLENARY, 40),
    (Meeting.Kind.INTERSESSIONAL, 40),
    (Meeting.Kind.EXTRAORDINARY, 15),
    (Meeting.Kind.EXTERNAL, 5),
]
PROPOSAL_KINDS = [
    (Proposal.Kind.PROCEDURAL, 30),
    (Proposal.Kind.SCHEME_AMENDMENT, 20),
    (Proposal.Kind.AGENDA_ITEM, 15),
    (Proposal.Kind.COMMUNIQUE_TEXT, 12),
    (Proposal.Kind.DEFINITION_AMENDMENT, 8),
    (Proposal.Kind.SUSPENSION_OR_EXCLUSION, 10),
    (Proposal.Kind.RESOLUTION, 5),
]
# How a decision's positions are drawn: most pass in silence, the rest meet objections.
PROFILES = [("silent", 85), ("bloc", 8), ("lone", 4), ("contested", 3)]

SUPPORT = Position.Stance.SUPPORT
OBJECTION = Position.Stance.OBJECTION
ABSTENTION = Position.Stance.ABSTENTION
NO_POSITION = Position.Stance.NO_POSITION


class SyntheticRecordError(Exception):
    """The synthetic record cannot be generated as asked (sizes, or one is already there)."""


@dataclass(frozen=True)
class Sizes:
    meetings: int = 100
    participants: int = 85
    agenda_items: int = 5000
    decisions: int = 20000
    letters: int = 10000

    def check(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise SyntheticRecordError(f"{name} must not be negative.")
        if self.meetings < 1:
            raise SyntheticRecordError("A synthetic record needs at least one meeting.")
        if self.participants < 3:
            raise SyntheticRecordError("A synthetic record needs at least three participants.")


@dataclass
class Report:
    sizes: Sizes
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    generation_seconds: float = 0.0
    recompute_seconds: float = 0.0
    decisions_changed: int = 0

    def summary(self) -> str:
        counts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items())
        return (
            f"Synthetic record (seed {self.seed}): {counts}.\n"
            f"Generated in {self.generation_seconds:.1f} s; engine.recompute() took "
            f"{self.recompute_seconds:.1f} s and changed {self.decisions_changed:,} decisions."
        )


class Progress:
    """Progress bars on a stream (stderr), one line per task; silent when the stream is None.

    On a terminal the bar is redrawn in place a few times a second; elsewhere (logs, CI) only
    the finished line is written.
    """

    def __init__(self, stream: TextIO | None):
        self.stream = stream
        self.live = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def task(self, label: str, total: int) -> _Bar:
        return _Bar(self, label, total)


class _Bar:
    WIDTH = 30

    def __init__(self, progress: Progress, label: str, total: int):
        self.progress, self.label, self.total = progress, label, max(total, 0)
        self.done = 0
        self.started = self.drawn = time.monotonic()
        self.draw()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.progress.live and now - self.drawn >= 0.2:
            self.drawn = now
            self.draw()

    def finish(self) -> None:
        self.done = self.total
        self.draw(end="\n")

    def draw(self, end: str = "") -> None:
        stream = self.progress.stream
        if stream is None or (not self.progress.live and not end):
            return
        share = self.done / self.total if self.total else 1.0
        filled = round(share * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.started
        stream.write(
            f"\r{self.label:<20} [{bar}] {self.done:>10,}/{self.total:,} {elapsed:6.1f} s{end}"
        )
        stream.flush()


def exists() -> bool:
    return Source.objects.filter(key=SOURCE_KEY).exists()


def generate(
    *,
    sizes: Sizes | None = None,
    seed: int = 1,
    flush_first: bool = False,
    progress: TextIO | None = None,
    use_copy: bool | None = None,
) -> Report:
    """Write a synthetic record of `sizes`, then recompute every outcome once.

    The record is written in one transaction (a failure leaves nothing behind); the engine's
    recomputation runs after it in its own and is timed separately. `use_copy` chooses COPY for
    the positions (the default on PostgreSQL) over `bulk_create`.
    """
    sizes = sizes or Sizes()
    sizes.check()
    bars = Progress(progress)
    report = Report(sizes=sizes, seed=seed)
    started = time.monotonic()
    with transaction.atomic():
        if flush_first:
            flush(progress=progress, recompute=False)
        elif exists():
            raise SyntheticRecordError(
                "A synthetic record is already in the database; flush it first (--flush)."
            )
        if use_copy is None:
            use_copy = connection.vendor == "postgresql"
        report.counts = _Generator(sizes, seed, bars, use_copy).run()
        record_changed()  # bulk_create announces no write to the page cache
        # The deferred foreign-key checks of every row run at commit.
        bar = bars.task("commit", 1)
    bar.finish()
    if connection.vendor == "postgresql":
        # Fresh statistics, so the engine's first query over the new rows gets a sensible plan
        # rather than one made for the empty tables autovacuum last saw; and a visibility map
        # for the positions, without which the engine's covering index (position_counted)
        # cannot answer alone. Autovacuum would do both, in its own time.
        bar = bars.task("vacuum and analyze", 1)
        with connection.cursor() as cursor:
            if not connection.in_atomic_block:  # VACUUM cannot run in a transaction (tests)
                cursor.execute(f"VACUUM (ANALYZE) {Position._meta.db_table}")
            cursor.execute("ANALYZE")
        bar.finish()
    report.generation_seconds = time.monotonic() - started

    bar = bars.task("recompute outcomes", 1)
    started = time.monotonic()
    with muted(engine.outcomes_changed):
        report.decisions_changed = engine.recompute()
    report.recompute_seconds = time.monotonic() - started
    bar.finish()
    return report


@contextlib.contextmanager
def muted(signal: Signal) -> Iterator[None]:
    """Disconnect every receiver of `signal` for a while.

    The first outcomes of an invented record are not news: without this, the notifications
    app would record an "outcome changed" event for each of 20,000 decisions.
    """
    receivers = signal.receivers
    signal.receivers = []
    signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        signal.receivers = receivers
        signal.sender_receivers_cache.clear()


def _weighted(rng: random.Random, choices: list[tuple]) -> object:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _day_between(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randrange((last - first).days + 1))


def _copy_text(value: object) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return r"\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


@dataclass
class _DecisionPlan:
    meeting: int | None  # index into the generator's meetings
    effective_date: datetime.date
    stances: dict[int, tuple[str, str, int | None]]  # participant index -> (stance, reason, letter)
    observer_stances: list[tuple[int, str]]  # (observer index, stance)
    parties: list[int]
    blocked: bool


class _Generator:
    def __init__(self, sizes: Sizes, seed: int, bars: Progress, use_copy: bool):
        self.sizes, self.seed, self.bars, self.use_copy = sizes, seed, bars, use_copy
        self.rng = random.Random(seed)
        self.counts: dict[str, int] = {}
        self.links: list[tuple[type[models.Model], str, str, list[tuple[int, int]]]] = []

    def run(self) -> dict[str, int]:
        self.source = Source.objects.create(
            key=SOURCE_KEY,
            publisher="KP Tracker",
            title="Synthetic record, generated for load and performance testing",
            kind=Source.Kind.OTHER,
            archive_copy="none: generated by manage.py generate_synthetic_record",
            note=(
                f"Generated with seed {self.seed} and sizes {vars(self.sizes)}. Nothing in it "
                "happened; every record that cites this source is invented."
            ),
        )
        self.participants()
        self.observers()
        self.meetings()
        self.agenda_items()
        self.letters()
        self.decisions()
        self.agenda_versions()
        self.write_links()
        self.positions()
        return self.counts

    # Helpers -----------------------------------------------------------------------------------

    def create(self, model: type[models.Model], objects: list, label: str) -> list:
        bar = self.bars.task(label, len(objects))
        created = []
        for start in range(0, len(objects), BATCH):
            created += model.objects.bulk_create(objects[start : start + BATCH])
            bar.advance(len(objects[start : start + BATCH]))
        bar.finish()
        self.counts[label] = self.counts.get(label, 0) + len(created)
        return created

    def link(self, field: str, model: type[models.Model], pairs: list[tuple[int, int]]) -> None:
        """Queue rows of `model.<field>`'s through table, for `write_links`."""
        descriptor = getattr(model, field)
        m2m = descriptor.field
        source_col, target_col = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
        self.links.append((descriptor.through, source_col, target_col, pairs))

    def write_links(self) -> None:
        """Bulk-create the queued many-to-many rows: bulk_create sends no m2m_changed, so the
        engine's receivers do not recompute a decision per party concerned."""
        bar = self.bars.task("many-to-many links", sum(len(p) for *_, p in self.links))
        for through, source_col, target_col, pairs in self.links:
            rows = [through(**{f"{source_col}_id": a, f"{target_col}_id": b}) for a, b in pairs]
            for start in range(0, len(rows), BATCH):
                through.objects.bulk_create(rows[start : start + BATCH])
                bar.advance(len(rows[start : start + BATCH]))
        bar.finish()
        self.counts["many-to-many links"] = sum(len(p) for *_, p in self.links)

    def cite(self, model: type[models.Model], objects: list) -> None:
        self.link("sources", model, [(obj.pk, self.source.pk) for obj in objects])

    def standing(self, p: int, day: datetime.date) -> bool:
        """The engine's good-standing test (participants.models.standing_q), in Python."""
        joined = self.joined_on[p]
        if joined is not None and joined > day:
            return False
        return not any(start <= day <= end for start, end in self.barred[p])

    def taking_part(self, meeting: int | None, day: datetime.date) -> list[int]:
        if meeting is not None and self.attendees[meeting] is not None:
            return self.attendees[meeting]
        return [p for p in range(len(self.participant_ids)) if self.standing(p, day)]

    # Records -----------------------------------------------------------------------------------

    def participants(self) -> None:
        rng, n = self.rng, self.sizes.participants
        taken = set(Participant.objects.values_list("code", flat=True))
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        every = [a + b for a in letters for b in letters]
        rng.shuffle(every)
        # Codes no country holds first; assigned ones only when those run out.
        candidates = [c for c in every if c not in ISO_CODES] + [c for c in every if c in ISO_CODES]
        codes = [c for c in candidates if c not in taken][:n]
        if len(codes) < n:
            raise SyntheticRecordError(
                f"Only {len(codes)} two-letter codes are free; ask for fewer participants."
            )
        self.codes = codes
        self.joined_on: list[datetime.date | None] = [
            None if rng.random() < 0.8 else _day_between(rng, FIRST_DAY, LAST_DAY) for _ in range(n)
        ]
        participants = [
            Participant(
                code=code,
                name=f"{PARTICIPANT_NAME_PREFIX} {code}",
                kind=Participant.Kind.REGIONAL_ORGANISATION if i == 0 else Participant.Kind.STATE,
                joined_on=self.joined_on[i],
            )
            for i, code in enumerate(codes)
        ]
        created = self.create(Participant, participants, "participants")
        self.participant_ids = [p.pk for p in created]
        self.cite(Participant, created)

        # Suspensions over periods, a withdrawal, and a partial embargo (which bars nothing).
        self.barred: list[list[tuple[datetime.date, datetime.date]]] = [[] for _ in range(n)]
        statuses = []
        for p in rng.sample(range(1, n), max(1, n // 15)):
            start = _day_between(rng, FIRST_DAY, LAST_DAY - datetime.timedelta(days=400))
            end = start + datetime.timedelta(days=rng.randrange(180, 4 * 365))
            end = min(end, LAST_DAY)
            statuses.append((p, ParticipantStatus.Status.SUSPENDED, start, end))
        embargoed, withdrawn = rng.sample(range(1, n), 2)
        statuses.append((embargoed, ParticipantStatus.Status.PARTIAL_EMBARGO, FIRST_DAY, None))
        left = _day_between(rng, datetime.date(2015, 1, 1), LAST_DAY)
        statuses.append((withdrawn, ParticipantStatus.Status.WITHDRAWN, left, None))
        for p, status, start, end in statuses:
            if status != ParticipantStatus.Status.PARTIAL_EMBARGO:
                self.barred[p].append((start, end or datetime.date.max))
        rows = self.create(
            ParticipantStatus,
            [
                ParticipantStatus(
                    participant_id=self.participant_ids[p],
                    status=status,
                    start_date=start,
                    end_date=end,
                    note="Synthetic.",
                )
                for p, status, start, end in statuses
            ],
            "participant statuses",
        )
        self.cite(ParticipantStatus, rows)

        # Recurring blocs: disjoint groups that object together (and co-author letters).
        pool = list(range(n))
        rng.shuffle(pool)
        self.blocs: list[list[int]] = []
        while len(self.blocs) < max(1, n // 12) and len(pool) >= 3:
            size = min(rng.randint(3, 7), len(pool))
            self.blocs.append(sorted(pool[:size]))
            pool = pool[size:]

    def observers(self) -> None:
        n = max(2, self.sizes.participants // 12)
        created = self.create(
            Observer,
            [
                Observer(
                    code=f"{PREFIX}{i + 1:02d}",
                    name=f"Synthetic observer {i + 1}",
                    description="An invented observer organisation.",
                )
                for i in range(n)
            ],
            "observers",
        )
        self.observer_ids = [o.pk for o in created]
        self.cite(Observer, created)

    def meetings(self) -> None:
        rng, n = self.rng, self.sizes.meetings
        span = (LAST_DAY - FIRST_DAY).days - 10
        meetings = []
        for i in range(n):
            start = FIRST_DAY + datetime.timedelta(days=(span * i) // n + rng.randrange(span // n))
            kind = _weighted(rng, MEETING_KINDS)
            host = rng.randrange(self.sizes.participants)
            meetings.append(
                Meeting(
                    slug=f"{PREFIX}{start.year}-{kind}-{i + 1:04d}",
                    kind=kind,
                    host_id=self.participant_ids[host],
                    chair_id=self.participant_ids[host],
                    city=f"Synthetic city {rng.randrange(1, 60)}",
                    country=f"{PARTICIPANT_NAME_PREFIX} {self.codes[host]}",
                    start_date=start,
                    end_date=start + datetime.timedelta(days=rng.randrange(5)),
                    summary=f"A synthetic {kind} meeting.",
                )
            )
        created = self.create(Meeting, meetings, "meetings")
        self.meeting_ids = [m.pk for m in created]
        self.meeting_starts = [m.start_date for m in created]
        self.meeting_ends = [m.end_date for m in created]
        self.cite(Meeting, created)

        # A quarter of the meetings record who attended: most of those in good standing.
        self.attendees: list[list[int] | None] = []
        attendance = []
        for i in range(n):
            if rng.random() < 0.25:
                present = [
                    p
                    for p in range(self.sizes.participants)
                    if self.standing(p, self.meeting_starts[i]) and rng.random() < 0.85
                ]
                self.attendees.append(present or None)
                attendance += [
                    Attendance(
                        meeting_id=self.meeting_ids[i], participant_id=self.participant_ids[p]
                    )
                    for p in present
                ]
            else:
                self.attendees.append(None)
        self.create(Attendance, attendance, "attendance")

    def agenda_items(self) -> None:
        rng, n, m = self.rng, self.sizes.agenda_items, self.sizes.meetings
        items, proposers, observer_proposers = [], [], []
        self.item_meeting: list[int] = []
        self.item_proposers: list[list[int]] = []
        for j in range(n):
            meeting = j * m // n
            topic = rng.choice(TOPICS)
            items.append(
                AgendaItem(
                    meeting_id=self.meeting_ids[meeting],
                    title=f"{topic} (item {j + 1})",
                    description=f"Discussion of {topic.lower()}.",
                    time_slot_minutes=rng.choice([30, 45, 60, 90, 120])
                    if rng.random() < 0.3
                    else None,
                )
            )
            self.item_meeting.append(meeting)
            chosen = (
                sorted(rng.sample(range(self.sizes.participants), rng.randint(1, 3)))
                if rng.random() < 0.4
                else []
            )
            self.item_proposers.append(chosen)
            proposers += [(j, p) for p in chosen]
            if rng.random() < 0.05:
                observer_proposers.append((j, rng.randrange(len(self.observer_ids))))
        created = self.create(AgendaItem, items, "agenda items")
        self.item_ids = [item.pk for item in created]
        self.cite(AgendaItem, created)
        self.link(
            "proposers",
            AgendaItem,
            [(self.item_ids[j], self.participant_ids[p]) for j, p in proposers],
        )
        self.link(
            "observer_proposers",
            AgendaItem,
            [(self.item_ids[j], self.observer_ids[o]) for j, o in observer_proposers],
        )

    def letters(self) -> None:
        rng, n = self.rng, self.sizes.letters
        letters, authors, observer_authors = [], [], []
        for i in range(n):
            day = _day_between(rng, FIRST_DAY, LAST_DAY)
            precision = DatePrecision.DAY if rng.random() < 0.85 else DatePrecision.MONTH
            if precision == DatePrecision.MONTH:
                day = day.replace(day=1)
            if rng.random() < 0.08:
                writers: list[int] = []
                observer_authors.append((i, rng.randrange(len(self.observer_ids))))
                signed_by = "an observer organisation"
            else:
                if rng.random() < 0.4:
                    bloc = rng.choice(self.blocs)
                    writers = sorted(rng.sample(bloc, rng.randint(2, len(bloc))))
                else:
                    writers = sorted(rng.sample(range(self.sizes.participants), rng.randint(1, 2)))
                authors += [(i, p) for p in writers]
                signed_by = ", ".join(f"{PARTICIPANT_NAME_PREFIX} {self.codes[p]}" for p in writers)
            topic = rng.choice(TOPICS)
            sentences = [f"{signed_by} {rng.choice(ACTIONS).format(topic=topic.lower())}."]
            sentences += rng.sample(DETAILS, rng.randint(1, 3))
            letters.append(
                Letter(
                    slug=f"{PREFIX}letter-{i + 1:05d}",
                    date=day,
                    date_precision=precision,
                    addressee=rng.choice(
                        ["The KP Chair", "All KP participants", "The secretariat"]
                    ),
                    subject=f"{topic}: letter {i + 1}",
                    summary=" ".join(sentences),
                    publicity=rng.choice(list(Letter.Publicity.values)),
                )
            )
        created = self.create(Letter, letters, "letters")
        self.letter_ids = [letter.pk for letter in created]
        self.cite(Letter, created)
        self.link(
            "authors", Letter, [(self.letter_ids[i], self.participant_ids[p]) for i, p in authors]
        )
        self.link(
            "observer_authors",
            Letter,
            [(self.letter_ids[i], self.observer_ids[o]) for i, o in observer_authors],
        )
        self.letters_by: dict[int, list[int]] = defaultdict(list)
        for i, p in authors:
            self.letters_by[p].append(self.letter_ids[i])

    def decisions(self) -> None:
        rng, sizes = self.rng, self.sizes
        n_communiques = min(sizes.meetings, sizes.decisions // 10)
        n_items = min(sizes.agenda_items, (sizes.decisions - n_communiques) // 2)
        n_proposals = sizes.decisions - n_communiques - n_items
        # Written procedures run in rounds, a few a year, each deciding several proposals.
        rounds = sorted(
            {_day_between(rng, FIRST_DAY, LAST_DAY) for _ in range(max(1, sizes.meetings))}
        )

        subjects: list[tuple[str, int | None, int]] = []  # (kind, meeting, item or proposal)
        for meeting in sorted(rng.sample(range(sizes.meetings), n_communiques)):
            subjects.append((Decision.SubjectKind.COMMUNIQUE, meeting, -1))
        for item in sorted(rng.sample(range(sizes.agenda_items), n_items)):
            subjects.append((Decision.SubjectKind.AGENDA_ITEM, self.item_meeting[item], item))
        proposals, sponsors, observer_sponsors, proposal_letters = [], [], [], []
        self.proposal_sponsors: list[list[int]] = []
        for k in range(n_proposals):
            meeting = rng.randrange(sizes.meetings) if rng.random() < 0.8 else None
            kind = _weighted(rng, PROPOSAL_KINDS)
            topic = rng.choice(TOPICS)
            item = None
            if meeting is not None and self.item_ids_of(meeting) and rng.random() < 0.3:
                item = rng.choice(self.item_ids_of(meeting))
            proposals.append(
                Proposal(
                    slug=f"{PREFIX}proposal-{k + 1:05d}",
                    title=f"{Proposal.Kind(kind).label}: {topic} ({k + 1})",
                    kind=kind,
                    summary=f"A synthetic proposal on {topic.lower()}.",
                    meeting_id=None if meeting is None else self.meeting_ids[meeting],
                    agenda_item_id=None if item is None else self.item_ids[item],
                    status=Proposal.Status.WITHDRAWN
                    if rng.random() < 0.02
                    else Proposal.Status.PENDING,
                )
            )
            chosen = sorted(rng.sample(range(sizes.participants), rng.randint(1, 4)))
            self.proposal_sponsors.append(chosen)
            sponsors += [(k, p) for p in chosen]
            if rng.random() < 0.05:
                observer_sponsors.append((k, rng.randrange(len(self.observer_ids))))
            if self.letter_ids and rng.random() < 0.25:
                for letter in rng.sample(self.letter_ids, min(len(self.letter_ids), 2)):
                    proposal_letters.append((k, letter))
            subjects.append((Decision.SubjectKind.PROPOSAL, meeting, k))
        created = self.create(Proposal, proposals, "proposals")
        self.proposal_ids = [proposal.pk for proposal in created]
        self.cite(Proposal, created)
        ids = self.proposal_ids
        self.link("sponsors", Proposal, [(ids[k], self.participant_ids[p]) for k, p in sponsors])
        self.link(
            "observer_sponsors",
            Proposal,
            [(ids[k], self.observer_ids[o]) for k, o in observer_sponsors],
        )
        self.link("letters", Proposal, [(ids[k], letter) for k, letter in proposal_letters])

        decisions, parties = [], []
        self.plans: list[_DecisionPlan] = []
        self.item_blocked: dict[int, int] = {}  # agenda item index -> decision index
        for d, (kind, meeting, subject) in enumerate(subjects):
            date, method = None, Decision.Method.MEETING
            if meeting is None:
                date, method = rng.choice(rounds), Decision.Method.WRITTEN_PROCEDURE
            elif kind == Decision.SubjectKind.AGENDA_ITEM and rng.random() < 0.1:
                # Objections by letter before the meeting, as over the Kasane agenda in 2022.
                date = self.meeting_starts[meeting] - datetime.timedelta(days=25)
                method = Decision.Method.CORRESPONDENCE
            elif kind == Decision.SubjectKind.COMMUNIQUE:
                date = self.meeting_ends[meeting]
            elif rng.random() < 0.3:
                date = self.meeting_starts[meeting] + datetime.timedelta(days=rng.randrange(3))
                date = min(date, self.meeting_ends[meeting])
            effective = date or self.meeting_starts[meeting]
            if kind == Decision.SubjectKind.PROPOSAL:
                supporters = self.proposal_sponsors[subject]
                concerned_kind = proposals[subject].kind == Proposal.Kind.SUSPENSION_OR_EXCLUSION
            elif kind == Decision.SubjectKind.AGENDA_ITEM:
                supporters = self.item_proposers[subject]
                concerned_kind = rng.random() < 0.02
            else:
                supporters, concerned_kind = [], False
            plan = self.plan(meeting, effective, supporters, concerned_kind)
            self.plans.append(plan)
            parties += [(d, p) for p in plan.parties]
            complete = rng.random() < 0.9
            if plan.blocked:
                reported = Decision.Outcome.BLOCKED
            else:
                reported = Decision.Outcome.ADOPTED if complete else Decision.Outcome.UNDETERMINED
            if kind == Decision.SubjectKind.AGENDA_ITEM and plan.blocked:
                self.item_blocked[subject] = d
            if kind == Decision.SubjectKind.COMMUNIQUE:
                title = f"Adopt the final communique of meeting {meeting + 1}"
            elif kind == Decision.SubjectKind.AGENDA_ITEM:
                title = f"Keep item {subject + 1} on the agenda"
            else:
                title = f"Adopt proposal {subject + 1}"
            decisions.append(
                Decision(
                    slug=f"{PREFIX}decision-{d + 1:05d}",
                    title=title,
                    subject_kind=kind,
                    agenda_item_id=self.item_ids[subject]
                    if kind == Decision.SubjectKind.AGENDA_ITEM
                    else None,
                    proposal_id=self.proposal_ids[subject]
                    if kind == Decision.SubjectKind.PROPOSAL
                    else None,
                    meeting_id=None if meeting is None else self.meeting_ids[meeting],
                    method=method,
                    date=date,
                    # bulk_create bypasses Decision.save(), which would set it.
                    effective_date=effective,
                    positions_complete=complete,
                    reported_outcome=reported,
                )
            )
        created = self.create(Decision, decisions, "decisions")
        self.decision_ids = [decision.pk for decision in created]
        self.cite(Decision, created)
        self.link(
            "parties_concerned",
            Decision,
            [(self.decision_ids[d], self.participant_ids[p]) for d, p in parties],
        )

    def item_ids_of(self, meeting: int) -> range:
        """Indexes of the agenda items of `meeting` (items are spread over meetings in order)."""
        n, m = self.sizes.agenda_items, self.sizes.meetings
        # Item j belongs to meeting j * m // n, so the first item of meeting k is ceil(k * n / m).
        first = -(-meeting * n // m)
        last = -(-(meeting + 1) * n // m)
        return range(first, last)

    def plan(
        self,
        meeting: int | None,
        day: datetime.date,
        supporters: list[int],
        concerned_kind: bool,
    ) -> _DecisionPlan:
        """Draw one decision's positions. Objectors are drawn from those taking part, so a
        decision planned as blocked is blocked under the rule of record."""
        rng = self.rng
        present = self.taking_part(meeting, day)
        profile = _weighted(rng, PROFILES)
        objectors: set[int] = set()
        if profile == "bloc":
            bloc = rng.choice(self.blocs)
            objectors = {p for p in bloc if rng.random() < 0.85}
            if rng.random() < 0.2:
                objectors.add(rng.randrange(self.sizes.participants))
        elif profile == "lone" and present:
            objectors = {rng.choice(present)}
        elif profile == "contested":
            objectors = set(rng.sample(present, round(len(present) * rng.uniform(0.2, 0.45))))
        parties = []
        if concerned_kind and present:
            parties = sorted(rng.sample(present, min(len(present), rng.randint(1, 2))))
            objectors |= {p for p in parties if rng.random() < 0.7}
        taking_part = set(present)
        objectors &= taking_part
        stances: dict[int, tuple[str, str, int | None]] = {}
        for p in sorted(objectors):
            letters = self.letters_by.get(p)
            letter = rng.choice(letters) if letters and rng.random() < 0.3 else None
            stances[p] = (OBJECTION, rng.choice(OBJECTION_REASONS), letter)
        backers = [p for p in supporters if p not in objectors]
        if profile in {"bloc", "contested"}:
            others = [p for p in present if p not in objectors]
            share = rng.uniform(0.2, 0.6)
            backers += [p for p in others if rng.random() < share]
            for p in rng.sample(others, min(len(others), rng.randint(0, 3))):
                stances.setdefault(p, (ABSTENTION, "", None))
        elif rng.random() < 0.1:
            backers += rng.sample(present, min(len(present), rng.randint(1, 3)))
        for p in backers:
            if p not in stances:
                reason = rng.choice(SUPPORT_REASONS) if rng.random() < 0.2 else ""
                stances[p] = (SUPPORT, reason, None)
        observer_stances = []
        if rng.random() < 0.1:
            for o in sorted(rng.sample(range(len(self.observer_ids)), rng.randint(1, 2))):
                observer_stances.append((o, OBJECTION if rng.random() < 0.6 else SUPPORT))
        return _DecisionPlan(meeting, day, stances, observer_stances, parties, bool(objectors))

    def agenda_versions(self) -> None:
        rng, m = self.rng, self.sizes.meetings
        versions, layout = [], []
        for meeting in range(m):
            count = _weighted(rng, [(1, 50), (2, 35), (3, 15)])
            labels = ["Draft agenda", "Revised draft agenda", "Agenda as adopted"][-count:]
            if count == 1:
                labels = ["Agenda as adopted"]
            start = self.meeting_starts[meeting]
            for number, label in enumerate(labels, start=1):
                before = {"Draft agenda": 40, "Revised draft agenda": 15}.get(label, 0)
                versions.append(
                    AgendaVersion(
                        meeting_id=self.meeting_ids[meeting],
                        number=number,
                        label=label,
                        dated=start - datetime.timedelta(days=before),
                    )
                )
                layout.append((meeting, number == count))
        created = self.create(AgendaVersion, versions, "agenda versions")
        self.cite(AgendaVersion, created)

        entries = []
        for version, (meeting, last) in zip(created, layout, strict=True):
            for order, j in enumerate(self.item_ids_of(meeting), start=1):
                removal = None
                if last and j in self.item_blocked:
                    status = AgendaEntry.Status.REMOVED
                    removal = self.decision_ids[self.item_blocked[j]]
                elif last:
                    status = _weighted(
                        rng,
                        [
                            (AgendaEntry.Status.INCLUDED, 70),
                            (AgendaEntry.Status.DISCUSSED, 20),
                            (AgendaEntry.Status.DEFERRED, 10),
                        ],
                    )
                else:
                    status = rng.choice([AgendaEntry.Status.PROPOSED, AgendaEntry.Status.INCLUDED])
                entries.append(
                    AgendaEntry(
                        version_id=version.pk,
                        item_id=self.item_ids[j],
                        status=status,
                        order=order,
                        removal_decision_id=removal,
                    )
                )
        self.create(AgendaEntry, entries, "agenda entries")

    def position_rows(self) -> Iterator[tuple[int, int | None, int | None, str, str, int | None]]:
        """(decision, participant, observer, stance, reason, letter) ids, decision by decision."""
        participants = self.participant_ids
        for d, plan in enumerate(self.plans):
            decision = self.decision_ids[d]
            stances = plan.stances
            for p, participant in enumerate(participants):
                stance, reason, letter = stances.get(p, (NO_POSITION, "", None))
                yield decision, participant, None, stance, reason, letter
            for o, stance in plan.observer_stances:
                yield decision, None, self.observer_ids[o], stance, "", None

    def positions(self) -> None:
        total = sum(len(self.participant_ids) + len(p.observer_stances) for p in self.plans)
        bar = self.bars.task("positions", total)
        written = 0
        rows = self.position_rows()
        if self.use_copy:
            # Every column but the id: the generated ones, then any other field at its default
            # (as bulk_create would write it), so a field added to Position later is not NULL.
            meta = Position._meta
            generated = ["decision", "participant", "observer", "stance", "reason", "letter"]
            template = Position()
            others = [
                field
                for field in meta.concrete_fields
                if not field.primary_key and field.name not in generated
            ]
            columns = [meta.get_field(name).column for name in generated]
            columns += [field.column for field in others]
            tail = "".join(
                "\t"
                + _copy_text(field.get_db_prep_save(getattr(template, field.attname), connection))
                for field in others
            )
            sql = f"COPY {meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with connection.cursor() as cursor:
                raw = getattr(cursor, "cursor", cursor)
                while True:
                    buffer = io.StringIO()
                    n = 0
                    for row in rows:
                        buffer.write("\t".join(map(_copy_text, row)))
                        buffer.write(tail)
                        buffer.write("\n")
                        n += 1
                        if n == POSITION_CHUNK:
                            break
                    if not n:
                        break
                    buffer.seek(0)
                    raw.copy_expert(sql, buffer)
                    written += n
                    bar.advance(n)
        else:
            while True:
                chunk = [
                    Position(
                        decision_id=d,
                        participant_id=p,
                        observer_id=o,
                        stance=stance,
                        reason=reason,
                        letter_id=letter,
                    )
                    for d, p, o, stance, reason, letter in _take(rows, POSITION_CHUNK)
                ]
                if not chunk:
                    break
                Position.objects.bulk_create(chunk, batch_size=BATCH)
                written += len(chunk)
                bar.advance(len(chunk))
        bar.finish()
        self.counts["positions"] = written


def _take(iterator: Iterator, n: int) -> Iterator:
    for _, item in zip(range(n), iterator, strict=False):
        yield item


# Flushing ---------------------------------------------------------------------------------------


def _raw_delete(queryset: models.QuerySet) -> int:
    # One DELETE statement, without loading rows or sending signals: a normal delete() would
    # send post_delete for each of 1.7 million positions, and each would recompute a decision
    # (proposals/signals.py) and write a history row. The order of the calls in `flush` stands in
    # for the cascades this skips.
    return queryset._raw_delete(queryset.db)


def _delete_with_links(model: type[models.Model], queryset: models.QuerySet) -> int:
    """Delete `queryset`'s rows and their rows in `model`'s own many-to-many tables."""
    for m2m in model._meta.many_to_many:
        through = m2m.remote_field.through
        _raw_delete(through.objects.filter(**{f"{m2m.m2m_field_name()}__in": queryset}))
    return _raw_delete(queryset)


def flush(*, progress: TextIO | None = None, recompute: bool = True) -> dict[str, int]:
    """Delete the synthetic record, if any; then, by default, recompute the remaining outcomes
    (synthetic participants counted as silent consenters in the real record's decisions too).
    """
    synthetic = {"slug__startswith": PREFIX}
    participants = Participant.objects.filter(name__startswith=f"{PARTICIPANT_NAME_PREFIX} ")
    observers = Observer.objects.filter(code__startswith=PREFIX)
    meetings = Meeting.objects.filter(**synthetic)
    decisions = Decision.objects.filter(**synthetic)
    items = AgendaItem.objects.filter(meeting__in=meetings)
    deleted: dict[str, int] = {}
    bar = Progress(progress).task("flush", 1)
    with transaction.atomic():
        _raw_delete(
            AgendaEntry.objects.filter(version__meeting__in=meetings)
            | AgendaEntry.objects.filter(removal_decision__in=decisions)
        )
        AgendaItem.objects.filter(removed_by__in=decisions).update(removed_by=None)
        deleted["positions"] = _raw_delete(
            Position.objects.filter(decision__in=decisions)
            | Position.objects.filter(participant__in=participants)
            | Position.objects.filter(observer__in=observers)
        )
        deleted["decisions"] = _delete_with_links(Decision, decisions)
        deleted["proposals"] = _delete_with_links(Proposal, Proposal.objects.filter(**synthetic))
        deleted["letters"] = _delete_with_links(Letter, Letter.objects.filter(**synthetic))
        deleted["agenda versions"] = _delete_with_links(
            AgendaVersion, AgendaVersion.objects.filter(meeting__in=meetings)
        )
        deleted["agenda items"] = _delete_with_links(AgendaItem, items)
        deleted["attendance"] = _raw_delete(Attendance.objects.filter(meeting__in=meetings))
        deleted["meetings"] = _delete_with_links(Meeting, meetings)
        deleted["participant statuses"] = _delete_with_links(
            ParticipantStatus, ParticipantStatus.objects.filter(participant__in=participants)
        )
        deleted["participants"] = _delete_with_links(Participant, participants)
        deleted["observers"] = _delete_with_links(Observer, observers)
        _raw_delete(Source.objects.filter(key=SOURCE_KEY))
        record_changed()  # nor do raw deletes
        if recompute:
            with muted(engine.outcomes_changed):
                engine.recompute()
    bar.finish()
    return deleted
