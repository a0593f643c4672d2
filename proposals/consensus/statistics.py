"""Statistics over the engine's stored outcomes, computed by the database.

Every function returns a queryset or a few aggregate rows; none loops over positions in Python.
Pages and the API call these and only format what they return.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, ExtractYear

from meetings.models import AgendaItem, Meeting
from participants.models import Participant
from proposals.consensus import rules
from proposals.models import Decision, Position

BLOCKED = Decision.Outcome.BLOCKED
OBJECTION = Position.Stance.OBJECTION


# Newest first by each decision's effective date; decisions with none (no date, no meeting)
# last, where PostgreSQL would otherwise put them first.
NEWEST_DECISIONS_FIRST = (F("decision__effective_date").desc(nulls_last=True), "decision_id")


def objections(
    *,
    participant: str | None = None,
    meeting: str | None = None,
    year: int | None = None,
) -> QuerySet[Position]:
    """One row per participant's objection, with what it was about; `blocked` tells whether the
    decision was blocked under the rule of record."""
    queryset = (
        Position.objects.objections()
        .filter(participant__isnull=False)
        .select_related(
            "participant",
            "decision__meeting",
            "decision__agenda_item",
            "decision__proposal",
            "letter",
        )
        .annotate(
            effective_date=F("decision__effective_date"),
            blocked=Q(decision__outcome=BLOCKED),
        )
        .order_by(*NEWEST_DECISIONS_FIRST, "participant__code")
    )
    if participant:
        queryset = queryset.filter(participant__code=participant)
    if meeting:
        queryset = queryset.filter(decision__meeting__slug=meeting)
    if year:
        queryset = queryset.filter(decision__meeting__start_date__year=year)
    return queryset


def veto_records(participant: Participant | None = None) -> list[Participant]:
    """Per participant that objected (or only `participant`): objections made, and decisions
    it blocked or joined in blocking, as attributes; most vetoes first. Two queries: the counts,
    grouped over the objections alone (a join from the participants would first meet all 1.7
    million positions of the synthetic record), and the participants they belong to."""
    blocking = Q(decision__outcome=BLOCKED)
    rows = Position.objects.objections().filter(participant__isnull=False)
    if participant is not None:
        rows = rows.filter(participant=participant)
    counts = list(
        rows.values("participant_id")
        .annotate(
            objections=Count("pk"),
            vetoes=Count("pk", filter=blocking),
            meetings_with_vetoes=Count("decision__meeting", filter=blocking, distinct=True),
        )
        .order_by()
    )
    if participant is not None:
        holders = {participant.pk: participant}
    else:
        holders = Participant.objects.in_bulk([row["participant_id"] for row in counts])
    records = []
    for row in counts:
        holder = holders[row["participant_id"]]
        holder.objections = row["objections"]
        holder.vetoes = row["vetoes"]
        holder.meetings_with_vetoes = row["meetings_with_vetoes"]
        records.append(holder)
    return sorted(records, key=lambda p: (-p.vetoes, -p.objections, p.code))


def newest_objections(limit: int) -> list[Position]:
    """The newest `limit` objections, as objections() gives them. Two queries: the ids first,
    sorted on the few columns the order needs, then those rows with everything they show;
    sorting the fully joined rows (letters, proposals, items) before the limit costs twice."""
    ids = list(objections().values_list("pk", flat=True)[:limit])
    return list(objections().filter(pk__in=ids))


def veto_record(participant: Participant) -> QuerySet[Position]:
    """The decisions `participant` blocked or joined in blocking, newest first."""
    return objections(participant=participant.code).filter(decision__outcome=BLOCKED)


def newest_vetoes(participant: Participant, limit: int) -> tuple[list[Position], int]:
    """The newest `limit` rows of veto_record(participant) and how many there are in all.

    The ids first, ordered on the decision and meeting alone, then those rows with all seven
    tables joined, as newest_objections() does: planning the seven-table join with its sort
    cost PostgreSQL 10-20 ms more than executing it did. Counted only when over the limit."""
    vetoes = Position.objects.objections().filter(
        participant=participant, decision__outcome=BLOCKED
    )
    ids = list(vetoes.order_by(*NEWEST_DECISIONS_FIRST).values_list("pk", flat=True)[: limit + 1])
    total = len(ids) if len(ids) <= limit else vetoes.count()
    ids = ids[:limit]
    rows = objections().filter(pk__in=ids).prefetch_related("sources").in_bulk()
    return [rows[pk] for pk in ids], total


def co_objectors(participant: Participant) -> list[dict]:
    """Participants that objected on the same decisions as `participant`, most often first:
    dicts of code, name and together (decisions objected to with it).

    SQL of our own, as for co_objection_pairs(): the ORM joins positions to positions only
    through the decisions table, and then planned a hash join over every objection of the
    record (20-70 ms on the synthetic record) where probing the counted-stances index for
    each of the participant's objections takes 5-10 ms. One position per participant and
    decision (a constraint): each joined row is one decision."""
    position = connection.ops.quote_name(Position._meta.db_table)
    holder = connection.ops.quote_name(Participant._meta.db_table)
    sql = (
        f"SELECT p.code, p.name, COUNT(*) FROM {position} a "
        f"JOIN {position} b ON b.decision_id = a.decision_id "
        "AND b.stance = %s AND b.participant_id <> a.participant_id "
        f"JOIN {holder} p ON p.id = b.participant_id "
        "WHERE a.participant_id = %s AND a.stance = %s GROUP BY p.id, p.code, p.name "
        "ORDER BY COUNT(*) DESC, p.code"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [OBJECTION, participant.pk, OBJECTION])
        return [
            {"code": code, "name": name, "together": together}
            for code, name, together in cursor.fetchall()
        ]


def co_objection_pairs(*, year: int | None = None, meeting: str | None = None) -> list[dict]:
    """For every pair of participants (a < b by code), how many decisions both objected to:
    dicts of a, b and together, most often first. Two queries: the pairs, grouped by the
    database, and the participants' codes."""
    decisions = Decision.objects.all()
    if year:
        decisions = decisions.filter(meeting__start_date__year=year)
    if meeting:
        decisions = decisions.filter(meeting__slug=meeting)
    rows = _objection_pair_counts(decisions if year or meeting else None)
    codes = _participant_codes({pk for row in rows for pk in row[:2]})
    pairs = []
    for first, second, together in rows:
        a, b = sorted((codes[first], codes[second]))
        pairs.append({"a": a, "b": b, "together": together})
    return sorted(pairs, key=lambda pair: (-pair["together"], pair["a"], pair["b"]))


def _participant_codes(ids: set[int]) -> dict[int, str]:
    """ISO codes of the participants named by id in aggregate rows, in one query."""
    return dict(Participant.objects.filter(pk__in=ids).values_list("pk", "code"))


def _objection_pair_counts(decisions: QuerySet[Decision] | None) -> list[tuple[int, int, int]]:
    """(participant id, other participant id with a greater id, decisions both objected to).

    SQL of our own because the ORM can join positions to positions only through the decisions
    table, which costs a fifth of the time here; grouping by ids, not codes, keeps the
    participants out of the synthetic record's 190,000 pair rows (3 times faster). One position
    per participant and decision (a constraint): each pair row is one decision."""
    position = connection.ops.quote_name(Position._meta.db_table)
    sql = (
        f"SELECT a.participant_id, b.participant_id, COUNT(*) FROM {position} a "
        f"JOIN {position} b ON b.decision_id = a.decision_id "
        "AND b.participant_id > a.participant_id AND b.stance = %s "
        "WHERE a.stance = %s AND a.participant_id IS NOT NULL"
    )
    params: list = [OBJECTION, OBJECTION]
    if decisions is not None:
        inner, inner_params = decisions.order_by().values("pk").query.sql_with_params()
        sql += f" AND a.decision_id IN ({inner})"
        params += list(inner_params)
    with connection.cursor() as cursor:
        cursor.execute(sql + " GROUP BY a.participant_id, b.participant_id", params)
        return cursor.fetchall()


def blocs(
    *, min_together: int = 2, year: int | None = None, pairs: list[dict] | None = None
) -> list[dict]:
    """Groups of participants linked by objecting together at least `min_together` times.

    The pair counts come from the database (or `pairs`, co_objection_pairs(year=year) already
    fetched); joining the pairs into groups (connected components) happens on those few
    aggregate rows.
    """
    neighbours: dict[str, set[str]] = defaultdict(set)
    weights: dict[frozenset, int] = {}
    for pair in co_objection_pairs(year=year) if pairs is None else pairs:
        if pair["together"] < min_together:
            continue
        neighbours[pair["a"]].add(pair["b"])
        neighbours[pair["b"]].add(pair["a"])
        weights[frozenset((pair["a"], pair["b"]))] = pair["together"]
    component: dict[str, int] = {}
    members: list[set[str]] = []
    for start in sorted(neighbours):
        if start in component:
            continue
        group, frontier = set(), [start]
        while frontier:
            code = frontier.pop()
            if code not in group:
                group.add(code)
                frontier.extend(neighbours[code] - group)
        for code in group:
            component[code] = len(members)
        members.append(group)
    links: list[list[int]] = [[] for _ in members]
    for key, n in weights.items():
        links[component[next(iter(key))]].append(n)
    groups = [
        {"members": sorted(group), "pairs": len(found), "strongest_link": max(found)}
        for group, found in zip(members, links, strict=True)
    ]
    return sorted(groups, key=lambda g: (-len(g["members"]), g["members"]))


def meeting_statistics() -> QuerySet[Meeting]:
    """Per meeting: agenda items removed by objection, decisions blocked, communique or not.

    Counted by a scalar subquery per meeting: joining both agenda items and decisions to the
    meetings would count their product before DISTINCT undid it (5 times slower here)."""
    decisions = Decision.objects.filter(meeting=OuterRef("pk")).values("meeting")
    removed = AgendaItem.objects.filter(meeting=OuterRef("pk"), removed_by__isnull=False)
    return Meeting.objects.annotate(
        items_removed=_count(removed.values("meeting")),
        decisions_total=_count(decisions),
        decisions_blocked=_count(decisions.filter(outcome=BLOCKED)),
    ).order_by("-start_date")


def _count(rows: QuerySet) -> Coalesce:
    """The number of `rows` (correlated to the outer row by an OuterRef) as an annotation."""
    counted = rows.order_by().annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def year_statistics() -> list[dict]:
    """Per year: items removed by objection, decisions blocked, communiques not adopted."""
    meetings = {
        row["year"]: row
        for row in Meeting.objects.annotate(year=ExtractYear("start_date"))
        .values("year")
        .annotate(
            meetings=Count("pk", distinct=True),
            communiques_not_adopted=Count("pk", filter=Q(communique_adopted=False), distinct=True),
        )
        .order_by()
    }
    removed = dict(
        Meeting.objects.annotate(year=ExtractYear("start_date"))
        .filter(agenda_items__removed_by__isnull=False)
        .values("year")
        .annotate(n=Count("agenda_items", distinct=True))
        .values_list("year", "n")
        .order_by()
    )
    decisions = {
        row["year"]: row
        for row in Decision.objects.annotate(year=ExtractYear("effective_date"))
        .values("year")
        .annotate(
            decisions=Count("pk"),
            decisions_blocked=Count("pk", filter=Q(outcome=BLOCKED)),
        )
        .order_by()
    }
    years = sorted(set(meetings) | set(decisions) - {None}, reverse=True)
    return [
        {
            "year": year,
            "meetings": meetings.get(year, {}).get("meetings", 0),
            "items_removed": removed.get(year, 0),
            "decisions": decisions.get(year, {}).get("decisions", 0),
            "decisions_blocked": decisions.get(year, {}).get("decisions_blocked", 0),
            "communiques_not_adopted": meetings.get(year, {}).get("communiques_not_adopted", 0),
        }
        for year in years
    ]


def objections_per_participant_year() -> list[dict]:
    """Rows of (participant code, year, objections): the data of the objections chart.
    Grouped by participant id, named after (a few hundred groups, not 20,000 rows)."""
    rows = list(
        Position.objects.objections()
        .filter(participant__isnull=False)
        .annotate(year=ExtractYear(F("decision__meeting__start_date")))
        .values("participant_id", "year")
        .annotate(objections=Count("pk"))
        .order_by()
    )
    codes = _participant_codes({row["participant_id"] for row in rows})
    named = [
        {
            "participant__code": codes[row["participant_id"]],
            "year": row["year"],
            "objections": row["objections"],
        }
        for row in rows
    ]
    # As PostgreSQL orders them: a year unknown (a meeting without dates) last.
    return sorted(
        named, key=lambda row: (row["participant__code"], row["year"] is None, row["year"] or 0)
    )


def counterfactual_key(rule_name: str, counting: str = rules.SILENCE_AS_CONSENT) -> str:
    if rule_name not in rules.RULES:
        raise ValueError(f"Unknown rule {rule_name!r}; use one of {', '.join(rules.RULES)}.")
    if counting not in rules.COUNTINGS:
        raise ValueError(f"Unknown counting {counting!r}; use one of {', '.join(rules.COUNTINGS)}.")
    return f"{rule_name}:{counting}"


def differing_decisions(
    rule_name: str,
    counting: str = rules.SILENCE_AS_CONSENT,
    *,
    year_from: int | None = None,
    year_to: int | None = None,
    outcome: str | None = None,
) -> QuerySet[Decision]:
    """Decisions whose outcome under `rule_name` differs from the rule of record's.

    `outcome` narrows to decisions with that outcome of record ("which blocked items would
    have passed under two-thirds?" is outcome="blocked").
    """
    key = counterfactual_key(rule_name, counting)
    queryset = (
        Decision.objects.annotate(counterfactual=KT(f"counterfactuals__{key}"))
        .exclude(counterfactual=F("outcome"))
        .exclude(counterfactual__isnull=True)
        .select_related("meeting", "agenda_item", "proposal")
        .order_by("effective_date", "pk")
    )
    if year_from:
        queryset = queryset.filter(effective_date__year__gte=year_from)
    if year_to:
        queryset = queryset.filter(effective_date__year__lte=year_to)
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    return queryset


def counterfactual_summary(counting: str = rules.SILENCE_AS_CONSENT) -> list[dict]:
    """For every rule: how many decisions it would decide differently, by direction.

    One scan of the decisions, grouped by the outcome of record and every rule's outcome at
    once (a few dozen groups), rather than one scan per rule."""
    keys = {name: counterfactual_key(name, counting) for name in rules.RULES}
    aliases = {name: f"under_{index}" for index, name in enumerate(rules.RULES)}
    rows = list(
        Decision.objects.annotate(
            **{aliases[name]: KT(f"counterfactuals__{key}") for name, key in keys.items()}
        )
        .values("outcome", *aliases.values())
        .annotate(n=Count("pk"))
        .order_by()
    )
    summary = []
    for name, rule in rules.RULES.items():
        changes: dict[tuple, int] = defaultdict(int)
        for row in rows:
            changes[row["outcome"], row[aliases[name]]] += row["n"]
        summary.append(
            {
                "rule": name,
                "title": rule.title,
                "counting": counting,
                "decisions": sum(changes.values()),
                "differ": sum(n for (was, would), n in changes.items() if was != would),
                "blocked_would_pass": changes.get((BLOCKED, Decision.Outcome.ADOPTED), 0),
                "adopted_would_fail": changes.get((Decision.Outcome.ADOPTED, BLOCKED), 0),
            }
        )
    return summary
