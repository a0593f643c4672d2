"""Decision rules as pure functions: a tally of positions in, an outcome and its explanation out.

No ORM here. `tally_positions` turns positions into a `Tally`; the engine builds the same tally
with one aggregate query when it recomputes the whole record, so both paths meet in the rules.
Each rule is a small function registered by name with `@rule`; adding a rule is adding one.

Who counts: the participants taking part (the meeting's attendance where recorded, otherwise
every participant in good standing on the day). Observers' positions are recorded but never
count. Under the default counting, `silence_as_consent`, a participant taking part that stated
no position consents, as it does under the KP's consensus rule; `recorded` counts only the
positions on record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

ADOPTED = "adopted"
BLOCKED = "blocked"
UNDETERMINED = "undetermined"

SUPPORT = "support"
OBJECTION = "objection"
ABSTENTION = "abstention"
NO_POSITION = "no_position"

SILENCE_AS_CONSENT = "silence_as_consent"
RECORDED = "recorded"
COUNTINGS = (SILENCE_AS_CONSENT, RECORDED)
Counting = Literal["silence_as_consent", "recorded"]

RULE_OF_RECORD = "consensus"


@dataclass(frozen=True)
class Ballot:
    """One recorded position: who holds it, the stance, and whether the holder is an observer."""

    holder: str
    stance: str
    observer: bool = False


@dataclass(frozen=True)
class Tally:
    """Counts over the participants taking part in one decision."""

    participants_counted: int
    supports: int
    objections: int
    abstentions: int
    objectors: tuple[str, ...] = ()
    # Objectors whose own conduct is the decision's subject (for consensus minus the parties).
    concerned_objectors: tuple[str, ...] = ()
    observer_objectors: tuple[str, ...] = ()
    complete: bool = False
    electorate: str = "good_standing"

    @property
    def silent(self) -> int:
        """Participants taking part with no recorded position (or an explicit 'no position')."""
        return self.participants_counted - self.supports - self.objections - self.abstentions

    def yes(self, counting: str) -> int:
        return self.supports + (self.silent if counting == SILENCE_AS_CONSENT else 0)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    outcome: str
    blocked_by: tuple[str, ...]
    explanation: dict = field(compare=False)


RuleFunction = Callable[[Tally, str], tuple[str, tuple[str, ...], str]]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    description: str
    decide: RuleFunction


RULES: dict[str, Rule] = {}


def rule(name: str, title: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule. Its docstring is its public description."""

    def register(function: RuleFunction) -> RuleFunction:
        if name in RULES:
            raise ValueError(f"A rule named {name!r} is already registered.")
        RULES[name] = Rule(name, title, " ".join((function.__doc__ or "").split()), function)
        return function

    return register


def tally_positions(
    ballots: Iterable[Ballot],
    taking_part: Iterable[str],
    *,
    parties_concerned: Iterable[str] = (),
    complete: bool = False,
    electorate: str = "good_standing",
) -> Tally:
    """Count the ballots of participants taking part; observers' objections are only listed."""
    taking_part = set(taking_part)
    concerned = set(parties_concerned)
    stances: dict[str, str] = {}
    observer_objectors = []
    for ballot in ballots:
        if ballot.observer:
            if ballot.stance == OBJECTION:
                observer_objectors.append(ballot.holder)
        elif ballot.holder in taking_part:
            stances[ballot.holder] = ballot.stance
    objectors = sorted(holder for holder, stance in stances.items() if stance == OBJECTION)
    return Tally(
        participants_counted=len(taking_part),
        supports=sum(stance == SUPPORT for stance in stances.values()),
        objections=len(objectors),
        abstentions=sum(stance == ABSTENTION for stance in stances.values()),
        objectors=tuple(objectors),
        concerned_objectors=tuple(holder for holder in objectors if holder in concerned),
        observer_objectors=tuple(sorted(observer_objectors)),
        complete=complete,
        electorate=electorate,
    )


def evaluate(
    tally: Tally, rule_name: str = RULE_OF_RECORD, counting: str = SILENCE_AS_CONSENT
) -> RuleResult:
    if counting not in COUNTINGS:
        raise ValueError(f"Unknown counting {counting!r}; use one of {', '.join(COUNTINGS)}.")
    try:
        chosen = RULES[rule_name]
    except KeyError:
        raise ValueError(f"Unknown rule {rule_name!r}; use one of {', '.join(RULES)}.") from None
    outcome, blocked_by, reason = chosen.decide(tally, counting)
    explanation = {
        "rule": rule_name,
        "outcome": outcome,
        "blocked_by": list(blocked_by),
        "participants_counted": tally.participants_counted,
        "objections": tally.objections,
        "supports": tally.supports,
        "abstentions": tally.abstentions,
        "silent": tally.silent,
        "counting": counting,
        "electorate": tally.electorate,
        "record_complete": tally.complete,
        "observer_objections": list(tally.observer_objectors),
        "reason": reason,
    }
    return RuleResult(rule_name, outcome, tuple(blocked_by), explanation)


def evaluate_all(tally: Tally) -> list[RuleResult]:
    return [evaluate(tally, name, counting) for name in RULES for counting in COUNTINGS]


def _silence_note(tally: Tally, counting: str) -> str:
    if counting == RECORDED:
        return "only recorded positions are counted"
    return f"{tally.silent} participant(s) with no recorded position counted as consenting"


def _unanimity_like(
    tally: Tally, counting: str, objectors: tuple[str, ...], tolerated: int, label: str
) -> tuple[str, tuple[str, ...], str]:
    """Shared by the consensus family: blocked once more than `tolerated` objections count."""
    if len(objectors) > tolerated:
        return BLOCKED, objectors, f"{len(objectors)} objection(s) counted under {label}"
    if not tally.complete:
        return (
            UNDETERMINED,
            (),
            f"{len(objectors)} objection(s) on record, but the record of positions is incomplete, "
            "so further objections cannot be ruled out",
        )
    # Adoption needs someone counted for it, under either counting: with nobody taking part, or
    # every participant abstaining, nothing was agreed. (Asking for a support only under
    # `recorded` made the two countings disagree when nobody was silent.)
    if tally.yes(counting) == 0:
        return (
            UNDETERMINED,
            (),
            f"no participant counts as for it ({_silence_note(tally, counting)})",
        )
    return ADOPTED, (), f"no more than {tolerated} objection(s) under {label}"


@rule("consensus", "KP consensus (the rule of record)")
def consensus(tally: Tally, counting: str) -> tuple[str, tuple[str, ...], str]:
    """Adopted when no participant taking part objects. Observers' objections never block. With
    no objection on record the decision stays undetermined unless the record of positions is
    complete: an incomplete record is never read as adoption. Nor is a decision nobody taking
    part counts as for (everyone abstaining)."""
    return _unanimity_like(tally, counting, tally.objectors, 0, "consensus")


@rule("consensus_minus_one", "Consensus minus one")
def consensus_minus_one(tally: Tally, counting: str) -> tuple[str, tuple[str, ...], str]:
    """Adopted unless two or more participants taking part object: a lone objector cannot block."""
    return _unanimity_like(tally, counting, tally.objectors, 1, "consensus minus one")


@rule("consensus_minus_parties_concerned", "Consensus minus the parties concerned")
def consensus_minus_parties_concerned(
    tally: Tally, counting: str
) -> tuple[str, tuple[str, ...], str]:
    """Consensus in which the objections of participants whose own conduct is the subject do not
    count, as in the OSCE's 1992 Prague precedent."""
    counted = tuple(code for code in tally.objectors if code not in tally.concerned_objectors)
    outcome, blocked_by, reason = _unanimity_like(
        tally, counting, counted, 0, "consensus minus the parties concerned"
    )
    if tally.concerned_objectors:
        set_aside = ", ".join(tally.concerned_objectors)
        reason += f"; objections of the parties concerned set aside: {set_aside}"
    return outcome, blocked_by, reason


def _majority(
    tally: Tally, counting: str, numerator: int, denominator: int, label: str
) -> tuple[str, tuple[str, ...], str]:
    yes, no = tally.yes(counting), tally.objections
    votes = yes + no
    note = _silence_note(tally, counting)
    if votes == 0:
        return UNDETERMINED, (), f"no votes for or against to count ({note})"
    # Integer arithmetic keeps the thresholds exact at their boundaries.
    if yes * denominator > votes * numerator or (
        denominator != 2 and yes * denominator == votes * numerator
    ):
        return ADOPTED, (), f"{yes} for, {no} against: {label} reached ({note})"
    return BLOCKED, tally.objectors, f"{yes} for, {no} against: {label} not reached ({note})"


@rule("simple_majority", "Simple majority of participants voting")
def simple_majority(tally: Tally, counting: str) -> tuple[str, tuple[str, ...], str]:
    """Adopted when more participants voting are for than against; abstentions are not votes and
    a tie is not a majority."""
    return _majority(tally, counting, 1, 2, "a simple majority")


@rule("two_thirds", "Two-thirds majority of participants voting")
def two_thirds(tally: Tally, counting: str) -> tuple[str, tuple[str, ...], str]:
    """Adopted when at least two thirds of the participants voting are for; abstentions are not
    votes."""
    return _majority(tally, counting, 2, 3, "a two-thirds majority")
