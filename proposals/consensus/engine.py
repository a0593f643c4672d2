"""Apply the decision rules to the record: tally positions in the database, store the outcomes.

The tally is built by aggregate queries (one over positions, a few small ones beside it), the
same way for one decision and for the whole record, so there is one definition of who counts.
The pure rules in `rules.py` then decide, and the results are written back only where they
changed, which makes recomputing idempotent and cheap when nothing moved.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.functions import Cast
from django.dispatch import Signal

from meetings.models import AgendaItem, Attendance, Meeting
from participants.models import Participant, standing_q
from proposals.consensus import rules
from proposals.models import Decision, Position, Proposal
from sources.pages import record_changed

BATCH = 2000
COUNTED_STANCES = (Position.Stance.SUPPORT, Position.Stance.OBJECTION, Position.Stance.ABSTENTION)

# Sent after outcomes are written, inside the same transaction, with
# changes=[(decision_id, old_outcome, new_outcome), ...] for the decisions whose outcome of
# record moved (explanations that changed without a new outcome are not announced).
outcomes_changed = Signal()


def counted_positions(decisions: QuerySet[Decision]) -> QuerySet[Position]:
    """Participants' positions on `decisions` that count: held by a participant taking part.

    Taking part means attending where the meeting's attendance is recorded, otherwise being in
    good standing on the decision's effective date.
    """
    attendance_recorded = Exists(Attendance.objects.filter(meeting=OuterRef("decision__meeting")))
    attended = Exists(
        Attendance.objects.filter(
            meeting=OuterRef("decision__meeting"), participant=OuterRef("participant")
        )
    )
    return (
        Position.objects.filter(decision__in=decisions, participant__isnull=False)
        .annotate(effective_date=F("decision__effective_date"))
        .filter(
            (attendance_recorded & attended)
            # With no effective date nobody's standing can be established, and the electorate
            # is counted as empty: without this, positions of participants with no joining date
            # counted against an electorate of 0 (a negative number of silent participants).
            | (
                ~attendance_recorded
                & Q(effective_date__isnull=False)
                & standing_q("effective_date", "participant__", per_row=True)
            )
        )
    )


def tallies(decisions: QuerySet[Decision]) -> dict[int, rules.Tally]:
    """Build the tally of every decision in `decisions` with a fixed number of queries."""
    rows = list(decisions.values("pk", "meeting_id", "effective_date", "positions_complete"))
    if not rows:
        return {}
    scope = decisions.values("pk")

    counts = {
        row["decision_id"]: row
        for row in counted_positions(scope)
        # Only these stances are counted. Leaving "no position" out before the attendance and
        # good-standing tests spares them for most rows of a full record (20 s to 0.6 s on
        # 1.7 million positions, docs/benchmarks.md); the counts are the same.
        .filter(stance__in=COUNTED_STANCES)
        .values("decision_id")
        .annotate(
            supports=Count("pk", filter=Q(stance=Position.Stance.SUPPORT)),
            objections=Count("pk", filter=Q(stance=Position.Stance.OBJECTION)),
            abstentions=Count("pk", filter=Q(stance=Position.Stance.ABSTENTION)),
        )
        .order_by()
    }
    # Unordered (the codes are sorted below): Position's default ordering would join the
    # observers and sort every row.
    objectors = _pairs(
        counted_positions(scope)
        .filter(stance=Position.Stance.OBJECTION)
        .order_by()
        .values_list("decision_id", "participant__code")
    )
    observer_objectors = _pairs(
        Position.objects.filter(
            decision__in=scope, observer__isnull=False, stance=Position.Stance.OBJECTION
        )
        .order_by()
        .values_list("decision_id", "observer__code")
    )
    concerned = _pairs(
        Decision.parties_concerned.through.objects.filter(decision__in=scope).values_list(
            "decision_id", "participant__code"
        )
    )
    attendance = dict(
        # A semi-join on the meetings: joining attendance to every decision of its meeting
        # multiplied the rows by the decisions per meeting.
        Attendance.objects.filter(meeting__in=decisions.values("meeting_id"))
        .values("meeting_id")
        .annotate(n=Count("participant_id", distinct=True))
        .values_list("meeting_id", "n")
    )
    standing = _standing_counts(rows)

    result = {}
    for row in rows:
        pk = row["pk"]
        by_stance = counts.get(pk, {})
        if row["meeting_id"] in attendance:
            counted, electorate = attendance[row["meeting_id"]], "attendance"
        else:
            counted, electorate = standing.get(row["effective_date"], 0), "good_standing"
        objecting = tuple(sorted(objectors.get(pk, ())))
        result[pk] = rules.Tally(
            participants_counted=counted,
            supports=by_stance.get("supports", 0),
            objections=by_stance.get("objections", 0),
            abstentions=by_stance.get("abstentions", 0),
            objectors=objecting,
            concerned_objectors=tuple(c for c in objecting if c in set(concerned.get(pk, ()))),
            observer_objectors=tuple(sorted(observer_objectors.get(pk, ()))),
            complete=row["positions_complete"],
            electorate=electorate,
        )
    return result


def _pairs(rows: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    return grouped


def _standing_counts(rows: list[dict]) -> dict[datetime.date, int]:
    """How many participants were in good standing on each of the decisions' effective dates.

    One query, whatever the number of dates (a query per date took 2 s over the 473 dates of
    the synthetic record): one decision stands for each date, and the count is a subquery on
    it, so it runs once per date rather than once per decision. Naming the decisions by id
    keeps the planner's estimate exact; a subquery there made it guess ten thousand rows and
    spend most of a second compiling the query with JIT.
    """
    one_per_day: dict[datetime.date, int] = {}
    for row in rows:
        if row["effective_date"] is not None:
            one_per_day.setdefault(row["effective_date"], row["pk"])
    if not one_per_day:
        return {}
    in_standing = (
        Participant.objects.annotate(day=OuterRef("effective_date"))
        .filter(standing_q("day"))
        .order_by()
        # COUNT without GROUP BY (a Count() annotation would group by participant).
        .annotate(n=Func("pk", function="COUNT"))
        .values("n")
    )
    return dict(
        Decision.objects.filter(pk__in=one_per_day.values())
        .annotate(n=Subquery(in_standing, output_field=IntegerField()))
        .values_list("effective_date", "n")
        .order_by()
    )


def evaluate_tally(tally: rules.Tally) -> tuple[rules.RuleResult, dict[str, str]]:
    """The rule of record's result and every rule's outcome, keyed "rule:counting"."""
    record = rules.evaluate(tally)
    # The same outcomes as rules.evaluate_all(tally), without building an explanation for each.
    counterfactuals = {
        f"{name}:{counting}": rule.decide(tally, counting)[0]
        for name, rule in rules.RULES.items()
        for counting in rules.COUNTINGS
    }
    return record, counterfactuals


class _Deferred:
    """What recompute() was asked for while deferred: everything, or these decisions."""

    def __init__(self) -> None:
        self.everything = False
        self.scopes: list[QuerySet[Decision]] = []


_deferred: contextvars.ContextVar[_Deferred | None] = contextvars.ContextVar(
    "engine_deferred", default=None
)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Recompute once, on leaving the block, whatever the block asked to recompute.

    For writes of many records in one transaction (the record loader): each saved participant
    asks the signals for a whole recompute and each position for its decision's, which on a
    large record is a recompute per row; deferred, it is one. The scopes are evaluated on
    leaving, so they see every row the block wrote. Nothing is recomputed if the block raises.
    """
    if _deferred.get() is not None:  # nested: the outer block recomputes
        yield
        return
    pending = _Deferred()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    if pending.everything:
        recompute()
    elif pending.scopes:
        ids = {pk for scope in pending.scopes for pk in scope.values_list("pk", flat=True)}
        recompute(Decision.objects.filter(pk__in=ids))


def recompute(decisions: QuerySet[Decision] | None = None) -> int:
    """Recompute outcomes (and their consequences) of `decisions`, all by default.

    Returns how many decisions changed (0 inside `deferred()`, which recomputes on leaving).
    Safe to run any number of times.
    """
    pending = _deferred.get()
    if pending is None:
        return _recompute(decisions)
    if decisions is None:
        pending.everything = True
    elif not pending.everything:
        pending.scopes.append(decisions)
    return 0


@transaction.atomic
def _recompute(decisions: QuerySet[Decision] | None) -> int:
    decisions = Decision.objects.all() if decisions is None else decisions
    # The stored JSON is read as text and decoded once per distinct value: decisions with the
    # same tally store the same explanation, and decoding each of 40,000 values took 0.5 s.
    decode = functools.cache(json.loads)
    current = {
        pk: (outcome, decode(explanation), decode(cf))
        for pk, outcome, explanation, cf in decisions.annotate(
            explanation_text=Cast("explanation", TextField()),
            counterfactuals_text=Cast("counterfactuals", TextField()),
        )
        .order_by()
        .values_list("pk", "outcome", "explanation_text", "counterfactuals_text")
    }
    changed = []
    # Rules are pure functions of the tally, and many decisions share one (most pass in
    # silence), so each distinct tally is evaluated once.
    evaluated: dict[rules.Tally, tuple[rules.RuleResult, dict[str, str]]] = {}
    # Equal counterfactuals are kept as one object (26 distinct on the synthetic record), which
    # the write sends once.
    interned: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for pk, tally in tallies(decisions).items():
        if tally not in evaluated:
            record, counterfactuals = evaluate_tally(tally)
            counterfactuals = interned.setdefault(tuple(counterfactuals.items()), counterfactuals)
            evaluated[tally] = record, counterfactuals
        record, counterfactuals = evaluated[tally]
        if current[pk] != (record.outcome, record.explanation, counterfactuals):
            changed.append((pk, record.outcome, record.explanation, counterfactuals))
    _write_outcomes(changed)
    if changed:
        # Written by UPDATE, which no post_save announces: the kept pages are out of date.
        record_changed()
        # When every decision changed (a first computation), name them by their queryset rather
        # than by 20,000 ids, which cost seconds to compile into each of the consequences' queries.
        if len(changed) == len(current):
            apply_consequences(decisions)
        else:
            apply_consequences(Decision.objects.filter(pk__in=[row[0] for row in changed]))
        moved = [
            (pk, current[pk][0], outcome)
            for pk, outcome, _, _ in changed
            if current[pk][0] != outcome
        ]
        if moved:
            outcomes_changed.send(sender=Decision, changes=moved)
    return len(changed)


def recompute_decision(decision_id: int) -> bool:
    return recompute(Decision.objects.filter(pk=decision_id)) > 0


def _write_outcomes(changed: list[tuple[int, str, dict, dict]]) -> None:
    if not changed:
        return
    if connection.vendor == "postgresql":
        # One UPDATE, each distinct explanation and set of counterfactuals sent (and parsed into
        # jsonb) once: decisions with the same tally share their result objects (`recompute`),
        # and the 20,005 decisions of the synthetic record have 5,212 distinct tallies and 26
        # distinct sets of counterfactuals. The parameters are literals (arrays, and JSON
        # documents listing the distinct values) rather than Python lists, which psycopg2 spells
        # ARRAY[...] element by element for PostgreSQL to parse as 20,000 expressions each.
        # UPDATE ... FROM (VALUES ...) with every row's JSON, in pages of 2,000, cost the server
        # about three times as much (docs/benchmarks.md).
        ids, outcomes, explanation_at, counterfactuals_at = [], [], [], []
        positions: dict[int, int] = {}  # id of a JSON value -> its position in its document
        explanations: list[dict] = []
        counterfactuals: list[dict] = []

        def position(value: dict, document: list[dict]) -> int:
            if id(value) not in positions:
                positions[id(value)] = len(document)
                document.append(value)
            return positions[id(value)]

        for pk, outcome, exp, cf in changed:
            ids.append(str(pk))
            outcomes.append(outcome)
            explanation_at.append(str(position(exp, explanations)))
            counterfactuals_at.append(str(position(cf, counterfactuals)))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Decision._meta.db_table} AS d "
                "SET outcome = v.outcome, explanation = e.value, counterfactuals = c.value "
                "FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::int[]) "
                "AS v(id, outcome, explanation, counterfactuals) "
                "JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(value, n) "
                "ON e.n = v.explanation + 1 "
                "JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS c(value, n) "
                "ON c.n = v.counterfactuals + 1 "
                "WHERE d.id = v.id",
                [
                    # Outcomes are plain words, which an array literal needs no quotes for.
                    "{" + ",".join(values) + "}"
                    for values in (ids, outcomes, explanation_at, counterfactuals_at)
                ]
                + [json.dumps(explanations), json.dumps(counterfactuals)],
            )
        return
    objects = [
        Decision(pk=pk, outcome=outcome, explanation=exp, counterfactuals=cf)
        for pk, outcome, exp, cf in changed
    ]
    Decision.objects.bulk_update(
        objects, ["outcome", "explanation", "counterfactuals"], batch_size=BATCH
    )


def apply_consequences(decisions: QuerySet[Decision]) -> None:
    """Carry each decided outcome to its subject; an undetermined outcome changes nothing."""
    blocked, adopted = Decision.Outcome.BLOCKED, Decision.Outcome.ADOPTED
    items = decisions.filter(subject_kind=Decision.SubjectKind.AGENDA_ITEM)
    # An item decided more than once stays removed by its latest blocked decision among all of
    # them, not only among those recomputed now (unblocking one must not clear another's removal).
    AgendaItem.objects.filter(Exists(items.filter(agenda_item=OuterRef("pk")))).update(
        removed_by=Decision.objects.filter(outcome=blocked, agenda_item=OuterRef("pk"))
        .order_by("-pk")
        .values("pk")[:1]
    )

    proposals = decisions.filter(subject_kind=Decision.SubjectKind.PROPOSAL)
    undecided = ~Q(status=Proposal.Status.WITHDRAWN)
    # Rows already in the state an update would set are left alone (no rewrite, no bloat).
    Proposal.objects.filter(undecided, decisions__in=proposals.filter(outcome=adopted)).exclude(
        status=Proposal.Status.ADOPTED
    ).update(status=Proposal.Status.ADOPTED)
    Proposal.objects.filter(undecided, decisions__in=proposals.filter(outcome=blocked)).exclude(
        status=Proposal.Status.NOT_ADOPTED
    ).update(status=Proposal.Status.NOT_ADOPTED)

    communiques = decisions.filter(subject_kind=Decision.SubjectKind.COMMUNIQUE)
    Meeting.objects.filter(decisions__in=communiques.filter(outcome=adopted)).exclude(
        communique_adopted=True
    ).update(communique_adopted=True)
    Meeting.objects.filter(decisions__in=communiques.filter(outcome=blocked)).exclude(
        communique_adopted=False
    ).update(communique_adopted=False)


def counterfactual(decision: Decision, rule_name: str, counting: str) -> rules.RuleResult:
    """One decision's result under any rule and counting, with its explanation."""
    tally = tallies(Decision.objects.filter(pk=decision.pk))[decision.pk]
    return rules.evaluate(tally, rule_name, counting)
