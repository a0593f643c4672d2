"""Reads of meetings for the public pages: the filtered index and one meeting's whole record.

Querysets own their joins. The agenda history is built in Python from the few rows a meeting has
(its versions, entries and items), already fetched: nothing here queries per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import ExtractYear

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Meeting, Session
from proposals.models import Decision, Position, Proposal
from sources.pages import listed


def meeting_list(*, year: int | None = None, kind: str | None = None) -> QuerySet[Meeting]:
    queryset = (
        Meeting.objects.select_related("host", "chair")
        .prefetch_related(listed("sources"))
        .order_by("-start_date", "slug")
    )
    if year:
        queryset = queryset.in_year(year)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def meeting_years() -> list[int]:
    return list(
        Meeting.objects.annotate(year=ExtractYear("start_date"))
        .values_list("year", flat=True)
        .distinct()
        .order_by("-year")
    )


def meeting_counts(meeting_ids: list[int]) -> dict[int, dict[str, int]]:
    """Items removed by objection, decisions and decisions blocked, for the given meetings, in
    two grouped queries over those meetings only. (Counting in the listing query would join
    every meeting's items with its decisions: 50 items and 200 decisions make 10,000 rows per
    meeting of a synthetic record.)"""
    removed = dict(
        AgendaItem.objects.filter(meeting_id__in=meeting_ids, removed_by__isnull=False)
        .values("meeting_id")
        .annotate(n=Count("pk"))
        .values_list("meeting_id", "n")
        .order_by()
    )
    decisions = {
        row["meeting_id"]: row
        for row in Decision.objects.filter(meeting_id__in=meeting_ids)
        .values("meeting_id")
        .annotate(
            total=Count("pk"), blocked=Count("pk", filter=Q(outcome=Decision.Outcome.BLOCKED))
        )
        .order_by()
    }
    return {
        pk: {
            "items_removed": removed.get(pk, 0),
            "decisions_total": decisions.get(pk, {}).get("total", 0),
            "decisions_blocked": decisions.get(pk, {}).get("blocked", 0),
        }
        for pk in meeting_ids
    }


def with_counts(meetings: list[Meeting]) -> list[Meeting]:
    """Set `items_removed`, `decisions_total` and `decisions_blocked` on each meeting."""
    counts = meeting_counts([meeting.pk for meeting in meetings])
    for meeting in meetings:
        for name, value in counts[meeting.pk].items():
            setattr(meeting, name, value)
    return meetings


def latest_meetings(limit: int = 5) -> list[Meeting]:
    return list(meeting_list()[:limit])


def meeting_detail() -> QuerySet[Meeting]:
    return Meeting.objects.select_related("host", "chair", "chair_person").prefetch_related(
        "sources",
        Prefetch("attendees", to_attr="attendee_list"),
    )


def _positions() -> QuerySet[Position]:
    """The positions the meeting page shows: objections (who removed what), and any position
    stated in a letter (the letters behind a decision). A synthetic record's "no position" rows,
    one per participant per decision, are never fetched."""
    return (
        Position.objects.filter(Q(stance=Position.Stance.OBJECTION) | Q(letter__isnull=False))
        .select_related("participant", "observer", "letter")
        .prefetch_related(listed("sources"))
        .order_by("stance", "participant__name", "observer__name")
    )


# A meeting of a large record has hundreds of decisions and proposals: the page lists those that
# shape its agenda and links to the full, paginated lists.
DECISIONS_SHOWN = 50
PROPOSALS_SHOWN = 50


@dataclass
class AgendaRow:
    """One item's place in a version beside its place in the version before."""

    item: AgendaItem
    before: AgendaEntry | None
    now: AgendaEntry | None

    @property
    def change(self) -> str:
        if self.now is None:
            return "not in this version"
        if self.before is None:
            return "added" if self.now.status != AgendaEntry.Status.REMOVED else "removed"
        if self.before.status != self.now.status:
            return self.now.get_status_display().lower()
        if self.before.slot != self.now.slot:
            return "time slot changed"
        return "unchanged"


@dataclass
class VersionHistory:
    version: AgendaVersion
    previous: AgendaVersion | None
    rows: list[AgendaRow] = field(default_factory=list)


@dataclass
class MeetingRecord:
    """Everything the meeting page shows, fetched in a fixed number of queries."""

    meeting: Meeting
    versions: list[AgendaVersion]
    history: list[VersionHistory]
    items: list[AgendaItem]
    decisions: list[Decision]
    decisions_total: int
    decisions_blocked: int
    proposals: list[Proposal]
    proposals_total: int
    sessions: list[Session]

    @property
    def final_version(self) -> AgendaVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def communique_decision(self) -> Decision | None:
        for decision in self.decisions:
            if decision.subject_kind == Decision.SubjectKind.COMMUNIQUE:
                return decision
        return None

    @property
    def decisions_more(self) -> bool:
        return self.decisions_total > len(self.decisions)

    @property
    def proposals_more(self) -> bool:
        return self.proposals_total > len(self.proposals)


def meeting_record(meeting: Meeting) -> MeetingRecord:
    """The meeting's agenda versions and their history, items, decisions with the positions the
    page shows, proposals and sessions. Entries' removal decisions are among the decisions.

    Every decision is listed when there are at most DECISIONS_SHOWN; otherwise those that shaped
    the agenda and outcome: removals, blocked decisions and the communique.
    """
    # Every many-to-many prefetch goes into a list (`to_attr`): prefetching into the related
    # manager builds a manager and a queryset per object, some 600 on a large meeting, which
    # cost more than the queries themselves.
    items = list(
        meeting.agenda_items.prefetch_related(
            listed("sources"), listed("proposers"), listed("observer_proposers")
        ).order_by("pk")
    )
    versions = list(
        meeting.agenda_versions.prefetch_related(
            listed("sources"),
            Prefetch(
                "entries",
                # The items are joined in `_join`, from those already fetched.
                queryset=AgendaEntry.objects.order_by("order", "pk"),
                to_attr="entry_list",
            ),
        ).order_by("number")
    )
    removals = {
        entry.removal_decision_id
        for version in versions
        for entry in version.entry_list
        if entry.removal_decision_id
    }
    # The meeting's own decisions and those on its items, by the items' ids already fetched: an
    # OR across a join to the items (`agenda_item__meeting`) scans every decision of the record
    # (20 ms on the synthetic one), the ids let PostgreSQL OR two index scans (0.2 ms).
    item_ids = [item.pk for item in items]
    scope = Decision.objects.filter(Q(meeting=meeting) | Q(agenda_item_id__in=item_ids))
    counts = scope.aggregate(
        total=Count("pk"), blocked=Count("pk", filter=Q(outcome=Decision.Outcome.BLOCKED))
    )
    shown = scope
    if counts["total"] > DECISIONS_SHOWN:
        shown = scope.filter(
            Q(pk__in=removals)
            | Q(outcome=Decision.Outcome.BLOCKED)
            | Q(subject_kind=Decision.SubjectKind.COMMUNIQUE)
        )
    decisions = list(
        shown.select_related("agenda_item", "proposal")
        .prefetch_related(
            listed("sources"),
            Prefetch("positions", queryset=_positions(), to_attr="shown_positions"),
        )
        .order_by("date", "pk")[: max(DECISIONS_SHOWN, len(removals) + 1)]
    )
    proposal_scope = Proposal.objects.filter(Q(meeting=meeting) | Q(agenda_item_id__in=item_ids))
    proposals = list(
        proposal_scope.prefetch_related(
            listed("sources"),
            listed("sponsors"),
            listed("observer_sponsors"),
            Prefetch("letters", to_attr="letter_list"),
        ).order_by("pk")[: PROPOSALS_SHOWN + 1]
    )
    proposals_total = len(proposals)
    if proposals_total > PROPOSALS_SHOWN:
        proposals, proposals_total = proposals[:PROPOSALS_SHOWN], proposal_scope.count()
    sessions = list(
        meeting.sessions.select_related("chaired_by")
        .prefetch_related(listed("sources"), listed("boycotted_by"))
        .order_by("date", "pk")
    )
    _join(items, decisions, versions, proposals)
    return MeetingRecord(
        meeting=meeting,
        versions=versions,
        history=agenda_history(versions, items),
        items=items,
        decisions=decisions,
        decisions_total=counts["total"],
        decisions_blocked=counts["blocked"],
        proposals=proposals,
        proposals_total=proposals_total,
        sessions=sessions,
    )


def _join(items, decisions, versions, proposals) -> None:
    """Attach the fetched rows to each other in Python, where the page needs them together."""
    by_item = {item.pk: item for item in items}
    by_decision = {decision.pk: decision for decision in decisions}
    by_proposal = {proposal.pk: proposal for proposal in proposals}
    for item in items:
        item.proposal_list = []
        item.decision_list = []
    for proposal in proposals:
        if proposal.agenda_item_id in by_item:
            by_item[proposal.agenda_item_id].proposal_list.append(proposal)
    for decision in decisions:
        positions = decision.shown_positions
        decision.objections = [p for p in positions if p.stance == Position.Stance.OBJECTION]
        decision.objectors = [p for p in decision.objections if p.participant_id]
        letters = {p.letter.pk: p.letter for p in positions if p.letter_id}
        if decision.agenda_item_id in by_item:
            item = by_item[decision.agenda_item_id]
            item.decision_list.append(decision)
            for proposal in item.proposal_list:
                letters.update((letter.pk, letter) for letter in proposal.letter_list)
        if decision.proposal_id in by_proposal:
            proposal = by_proposal[decision.proposal_id]
            letters.update((letter.pk, letter) for letter in proposal.letter_list)
        decision.letter_list = sorted(
            letters.values(), key=lambda letter: (letter.date is None, letter.date, letter.pk)
        )
    # The item as fetched with its proposers and sources; an entry pointing at another meeting's
    # item (nothing forbids it) shows that item, fetched here, without those.
    strays = {e.item_id for version in versions for e in version.entry_list} - by_item.keys()
    others = AgendaItem.objects.in_bulk(strays) if strays else {}
    for item in others.values():
        item.proposal_list = item.decision_list = []
    for version in versions:
        for entry in version.entry_list:
            entry.item = by_item.get(entry.item_id) or others[entry.item_id]
            entry.decision = by_decision.get(entry.removal_decision_id)
            entry.slot = entry.time_slot_minutes or entry.item.time_slot_minutes


def agenda_history(versions: list[AgendaVersion], items: list[AgendaItem]) -> list[VersionHistory]:
    """Each version beside its predecessor: one row per item in either, in this version's order
    and then the items that only the predecessor had."""
    history = []
    previous = None
    for version in versions:
        now = {entry.item_id: entry for entry in version.entry_list}
        before = {entry.item_id: entry for entry in previous.entry_list} if previous else {}
        rows = [AgendaRow(entry.item, before.get(entry.item_id), entry) for entry in now.values()]
        rows += [
            AgendaRow(entry.item, entry, None)
            for item_id, entry in before.items()
            if item_id not in now
        ]
        history.append(VersionHistory(version, previous, rows))
        previous = version
    return history
