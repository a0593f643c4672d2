"""Reads of letters, proposals and decisions for the public pages.

Querysets own their joins, so a view cannot forget them; the few helpers that group or arrange
rows do so in Python on rows already fetched. Outcomes are the engine's stored ones
(`Decision.outcome`, `.explanation`, `.counterfactuals`): nothing here decides anything.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import ExtractYear

from meetings.models import AgendaItem, AgendaVersion, Meeting
from participants.models import Observer, Participant
from proposals.consensus import rules
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount

STANCE_ORDER = [
    Position.Stance.SUPPORT,
    Position.Stance.OBJECTION,
    Position.Stance.ABSTENTION,
    Position.Stance.NO_POSITION,
]
COUNTING_LABELS = {
    rules.SILENCE_AS_CONSENT: "Silence counts as consent",
    rules.RECORDED: "Only recorded positions count",
}


# Letters ---------------------------------------------------------------------------------------


def letter_list() -> QuerySet[Letter]:
    """Letters newest first (undated last), with authors, signatory, proposals and sources."""
    return (
        Letter.objects.select_related("signatory")
        .prefetch_related(
            "sources",
            "authors",
            "observer_authors",
            Prefetch("proposals", queryset=Proposal.objects.only("pk", "slug", "title")),
        )
        .order_by(F("date").desc(nulls_last=True), "-pk")
    )


def letter_detail() -> QuerySet[Letter]:
    return Letter.objects.select_related("signatory").prefetch_related(
        "sources",
        "authors",
        "observer_authors",
        Prefetch(
            "quotes", queryset=Quote.objects.select_related("source", "speaker").order_by("pk")
        ),
        Prefetch(
            "proposals",
            queryset=Proposal.objects.select_related("meeting")
            .prefetch_related("sources")
            .order_by("slug"),
        ),
        Prefetch(
            "positions",
            queryset=Position.objects.select_related("decision", "participant", "observer")
            .prefetch_related("sources")
            .order_by("decision__date", "decision_id"),
        ),
    )


def letter_filter_choices(*, proposal_limit: int = 100) -> dict:
    """What the letters archive can be filtered by: authors, years and proposals with letters.

    Proposals are limited to the `proposal_limit` with the newest letters (a synthetic record
    has thousands); any proposal's own page links to its letters whatever the limit.
    """
    # Exists rather than a join and DISTINCT: 85 probes of the authors' index, not a join
    # of every letter's authors (5-8 ms on the synthetic record). Participants and observers
    # in one query, each in order of name.
    wrote = Letter.authors.through.objects.filter(participant=OuterRef("pk"))
    observer_wrote = Letter.observer_authors.through.objects.filter(observer=OuterRef("pk"))
    holders = (
        Participant.objects.filter(Exists(wrote))
        .annotate(observer=Value(False, output_field=BooleanField()))
        .values_list("observer", "name", "code")
        .order_by()  # SQLite takes no ORDER BY in a UNION's parts
        .union(
            Observer.objects.filter(Exists(observer_wrote))
            .annotate(observer=Value(True, output_field=BooleanField()))
            .values_list("observer", "name", "code")
            .order_by(),
            all=True,
        )
        .order_by("observer", "name")
    )
    authors, observers = [], []
    for observer, name, code in holders:
        (observers if observer else authors).append((code, name))
    years = list(
        Letter.objects.filter(date__isnull=False)
        .annotate(year=ExtractYear("date"))
        .values_list("year", flat=True)
        .distinct()
        .order_by("-year")
    )
    proposals = (
        Proposal.objects.filter(letters__isnull=False)
        .annotate(latest=Max("letters__date"))
        .order_by(F("latest").desc(nulls_last=True), "slug")
        .values_list("slug", "title")
    )
    candidates = _proposals_with_newest_letters(proposal_limit)
    if candidates is not None:
        proposals = proposals.filter(pk__in=candidates)
    proposals = list(proposals[:proposal_limit])
    return {
        "authors": authors,
        "observers": observers,
        "years": years,
        "proposals": proposals,
    }


def _proposals_with_newest_letters(limit: int, chunk: int = 500) -> set[int] | None:
    """Ids of the proposals whose latest letter is among the newest: every proposal whose
    latest dated letter is at least as new as that of the `limit`-th, ties included; None when
    fewer than `limit` proposals have a dated letter (then undated ones count too).

    Read newest letter first down the letters' date index, a chunk at a time, stopping once
    past the `limit`-th proposal's day: grouping every letter of every proposal to find the
    latest took 12-18 ms on the synthetic record (7,300 links), this reads a few hundred."""
    links = (
        Letter.proposals.through.objects.filter(letter__date__isnull=False)
        # The link's id breaks ties of day: without a total order, rows of one day could move
        # between one chunk's query and the next's, and a proposal be skipped.
        .order_by("-letter__date", "pk")
        .values_list("proposal_id", "letter__date")
    )
    seen: set[int] = set()
    cutoff = None
    start = 0
    while True:
        rows = list(links[start : start + chunk])
        for proposal, day in rows:
            if cutoff is not None and day < cutoff:
                return seen
            seen.add(proposal)
            if cutoff is None and len(seen) == limit:
                cutoff = day
        if len(rows) < chunk:
            return seen if cutoff is not None else None
        start += chunk


def filter_letters(
    queryset: QuerySet[Letter],
    *,
    author: str | None = None,
    year: int | None = None,
    proposal: str | None = None,
) -> QuerySet[Letter]:
    if author:
        queryset = queryset.filter(Q(authors__code=author) | Q(observer_authors__code=author))
    if year:
        queryset = queryset.filter(date__year=year)
    if proposal:
        queryset = queryset.filter(proposals__slug=proposal)
    # A letter joined twice (two authors matching) would be listed twice.
    return queryset.distinct() if author or proposal else queryset


# Proposals and decisions -----------------------------------------------------------------------


def positions_with_holders() -> QuerySet[Position]:
    return (
        Position.objects.select_related("participant", "observer", "letter")
        .prefetch_related("sources")
        .order_by("participant__name", "observer__name")
    )


def proposal_list() -> QuerySet[Proposal]:
    return (
        Proposal.objects.select_related("meeting")
        .prefetch_related("sources", "sponsors", "observer_sponsors")
        .order_by(F("meeting__start_date").desc(nulls_last=True), "slug")
    )


def proposal_detail() -> QuerySet[Proposal]:
    return Proposal.objects.select_related("meeting", "agenda_item__meeting").prefetch_related(
        "sources",
        "sponsors",
        "observer_sponsors",
        Prefetch("letters", queryset=letter_list()),
        Prefetch(
            "decisions",
            queryset=Decision.objects.select_related("meeting")
            .prefetch_related(
                "sources",
                "parties_concerned",
                Prefetch("positions", queryset=positions_with_holders()),
            )
            .order_by("date", "pk"),
        ),
    )


def decision_list() -> QuerySet[Decision]:
    return (
        Decision.objects.select_related("meeting", "agenda_item", "proposal")
        .prefetch_related("sources")
        .order_by(F("effective_date").desc(nulls_last=True), "-pk")
    )


def decision_detail() -> QuerySet[Decision]:
    return Decision.objects.select_related(
        "meeting", "agenda_item__meeting", "proposal"
    ).prefetch_related(
        "sources",
        "parties_concerned",
        Prefetch("positions", queryset=positions_with_holders()),
        Prefetch(
            "accounts",
            queryset=ReportedAccount.objects.prefetch_related(
                "sources", "named_objectors"
            ).order_by("pk"),
        ),
        Prefetch("items_removed", queryset=AgendaItem.objects.select_related("meeting")),
    )


def proposals_with_letters() -> QuerySet[Proposal]:
    return Proposal.objects.prefetch_related(
        "sources",
        "sponsors",
        "observer_sponsors",
        Prefetch("letters", queryset=letter_list()),
    ).order_by("slug")


@dataclass
class StanceGroup:
    stance: str
    label: str
    positions: list[Position]


def group_positions(positions) -> list[StanceGroup]:
    """Positions grouped support, objection, abstention, none; every group shown, even empty."""
    grouped: dict[str, list[Position]] = defaultdict(list)
    for position in positions:
        grouped[position.stance].append(position)
    return [
        StanceGroup(stance, Position.Stance(stance).label, grouped.get(stance, []))
        for stance in STANCE_ORDER
    ]


@dataclass
class RuleRow:
    name: str
    title: str
    description: str
    of_record: bool
    outcomes: list[tuple[str, str]]  # (counting, stored outcome), in COUNTINGS order


def outcome_table(decision: Decision) -> list[RuleRow]:
    """The stored outcome under every rule and counting (the engine's counterfactuals)."""
    stored = decision.counterfactuals or {}
    return [
        RuleRow(
            name=name,
            title=rule.title,
            description=rule.description,
            of_record=name == rules.RULE_OF_RECORD,
            outcomes=[
                (counting, stored.get(f"{name}:{counting}", "")) for counting in rules.COUNTINGS
            ],
        )
        for name, rule in rules.RULES.items()
    ]


def decision_letters(decision: Decision, proposals=()) -> list[Letter]:
    """Letters behind a decision: those stating positions, then those behind its proposals."""
    letters = {p.letter.pk: p.letter for p in decision.positions.all() if p.letter_id}
    for proposal in proposals:
        for letter in proposal.letters.all():
            letters.setdefault(letter.pk, letter)
    return sorted(letters.values(), key=lambda x: (x.date is None, x.date, x.pk))


# A participant's record ------------------------------------------------------------------------


# Every stance but "no position", which says nothing about the participant. Named rather than
# excluded so that the partial index position_counted (the engine's stances) serves the lists.
STATED_STANCES = [Position.Stance.SUPPORT, Position.Stance.OBJECTION, Position.Stance.ABSTENTION]


def positions_of(participant: Participant) -> QuerySet[Position]:
    """The positions a participant stated (support, objection, abstention), unordered: to count
    them, or to hand to newest_positions()."""
    return Position.objects.filter(participant=participant, stance__in=STATED_STANCES)


def newest_positions(positions: QuerySet[Position], limit: int) -> list[Position]:
    """The newest `limit` of `positions` by their decision's effective date (undated last),
    with decision, meeting, letter and sources.

    Two queries and a prefetch: the ids first, which PostgreSQL finds by walking the decisions'
    effective-date index and probing position_counted for each (index-only, 1-2 ms for the
    biggest objector of the synthetic record), then the rows shown. Joining the wide decision
    rows before the limit took 20-50 ms, counting through that join 65 ms.
    """
    newest = positions.order_by(
        F("decision__effective_date").desc(nulls_last=True), "-decision_id"
    ).values_list("pk", flat=True)[:limit]
    ids = list(newest)
    rows = (
        Position.objects.filter(pk__in=ids)
        .select_related("decision__meeting", "letter")
        .prefetch_related("sources")
        .in_bulk()
    )
    return [rows[pk] for pk in ids]


def co_objectors_by_decision(decision_ids, exclude: Participant) -> dict[int, list[dict]]:
    """For each decision, the other participants that objected to it, in one query."""
    rows = (
        Position.objects.objections()
        .filter(decision_id__in=decision_ids, participant__isnull=False)
        .exclude(participant=exclude)
        .order_by("participant__name")
        .values("decision_id", "participant__code", "participant__name")
    )
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["decision_id"]].append(
            {"code": row["participant__code"], "name": row["participant__name"]}
        )
    return grouped


# Home -----------------------------------------------------------------------------------------


def removed_items(limit: int = 10) -> list[AgendaItem]:
    """The latest agenda items removed by objection, with the decision that removed them."""
    return list(
        AgendaItem.objects.filter(removed_by__isnull=False)
        .select_related("meeting", "removed_by")
        .prefetch_related("sources")
        .order_by("-meeting__start_date", "-pk")[:limit]
    )


def objectors_of(decision_ids) -> dict[int, list[dict]]:
    rows = (
        Position.objects.objections()
        .filter(decision_id__in=decision_ids, participant__isnull=False)
        .order_by("participant__name")
        .values("decision_id", "participant__code", "participant__name")
    )
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["decision_id"]].append(
            {"code": row["participant__code"], "name": row["participant__name"]}
        )
    return grouped


# Timeline -------------------------------------------------------------------------------------

TIMELINE_KINDS = {
    "meeting": "Meeting",
    "agenda": "Agenda version",
    "letter": "Letter",
    "decision": "Decision",
}


class TimelineEvents:
    """The dated events of the record as rows (day, kind, pk), newest first (then by kind, then
    newest pk), for the paginator: it counts them and takes slices.

    Each kind of event is read down its own index (newest day, then pk); a slice [start:stop]
    takes the first `stop` rows of each and merges them (in one UNION where the database
    allows LIMIT in its parts, else in Python). One
    UNION sorted as a whole sorted all 30,000 events of the synthetic record for every page
    (25 ms) and counted them with another pass (25 ms); now the count is one query of four
    index-only counts, and the first page reads 100 rows per kind."""

    def __init__(self, branches: list) -> None:
        self.branches = branches

    def count(self) -> int:
        sql, params = [], []
        for queryset in self.branches:
            inner, inner_params = queryset.order_by().values("pk").query.sql_with_params()
            sql.append(f"(SELECT COUNT(*) FROM ({inner}) counted)")
            params += inner_params
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + " + ".join(sql), params)
            return cursor.fetchone()[0]

    def __getitem__(self, index: slice) -> list[tuple]:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("Timeline events are taken by slices only.")
        start, stop = index.start or 0, index.stop
        newest = ("-event_day", "-event_ref")
        firsts = [queryset.order_by(*newest)[:stop] for queryset in self.branches]
        if connection.features.supports_slicing_ordering_in_compound:  # PostgreSQL: one query
            union = firsts[0].union(*firsts[1:], all=True)
            return list(union.order_by("-event_day", "event_kind", "-event_ref")[start:stop])
        # SQLite takes no LIMIT in a UNION's parts: one query per kind, merged here.
        rows = heapq.merge(
            *(list(rows) for rows in firsts),
            key=lambda row: (-row[0].toordinal(), row[1], -row[2]),
        )
        return list(itertools.islice(rows, start, stop))


def timeline_events(*, year: int | None = None) -> TimelineEvents:
    """Every dated event of the record (meetings, agenda versions, letters, decisions), as
    TimelineEvents the paginator can count and slice; the page's rows are then fetched by
    kind."""

    def rows(queryset, day, kind):
        queryset = queryset.annotate(
            event_day=day,
            event_kind=Value(kind, output_field=CharField()),
            event_ref=F("pk"),
        ).filter(event_day__isnull=False)
        if year:
            queryset = queryset.filter(event_day__year=year)
        return queryset.values_list("event_day", "event_kind", "event_ref")

    # In order of kind, as the merge breaks ties of day by kind.
    return TimelineEvents(
        [
            rows(AgendaVersion.objects.all(), F("dated"), "agenda"),
            rows(Decision.objects.all(), F("effective_date"), "decision"),
            rows(Letter.objects.all(), F("date"), "letter"),
            rows(Meeting.objects.all(), F("start_date"), "meeting"),
        ]
    )


def timeline_years() -> list[int]:
    # DISTINCT in the database: the synthetic record's 10,000 letters fetched one year each cost
    # the removed-items chart a third of its time.
    years = set(
        Meeting.objects.annotate(y=ExtractYear("start_date"))
        .values_list("y", flat=True)
        .distinct()
        .order_by()
    )
    years |= set(
        Letter.objects.filter(date__isnull=False)
        .annotate(y=ExtractYear("date"))
        .values_list("y", flat=True)
        .distinct()
        .order_by()
    )
    return sorted(years, reverse=True)


def timeline_objects(rows) -> list[dict]:
    """The objects behind a page of timeline rows: one query per kind present."""
    ids: dict[str, list[int]] = defaultdict(list)
    for _, kind, pk in rows:
        ids[kind].append(pk)
    fetched = {
        "meeting": Meeting.objects.select_related("host").prefetch_related("sources"),
        "agenda": AgendaVersion.objects.select_related("meeting").prefetch_related("sources"),
        "letter": Letter.objects.prefetch_related("authors", "observer_authors", "sources"),
        "decision": Decision.objects.select_related("meeting").prefetch_related("sources"),
    }
    objects = {kind: fetched[kind].in_bulk(pks) for kind, pks in ids.items() if kind in fetched}
    return [
        {"day": day, "kind": kind, "label": TIMELINE_KINDS[kind], "object": objects[kind][pk]}
        for day, kind, pk in rows
        if pk in objects.get(kind, {})
    ]


def undated_letters_count() -> int:
    return Letter.objects.filter(date__isnull=True).count()
