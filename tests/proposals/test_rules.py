"""The decision rules as pure functions: properties over generated ballots, and exact boundaries.

No database here: ballots are built in memory and go through `tally_positions`, the same tally
the engine builds with aggregate queries. Every property is checked for every registered rule
under both countings, so a new rule is held to them as soon as it is registered.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proposals.consensus import rules
from proposals.consensus.rules import (
    ABSTENTION,
    ADOPTED,
    BLOCKED,
    COUNTINGS,
    NO_POSITION,
    OBJECTION,
    RECORDED,
    RULES,
    SILENCE_AS_CONSENT,
    SUPPORT,
    UNDETERMINED,
    Ballot,
    Tally,
    evaluate,
    evaluate_all,
    tally_positions,
)

CODES = ("AO", "BW", "BY", "CF", "CN", "EU", "GB", "KG", "ML", "RU", "UA", "US")
OBSERVERS = ("kpcsc", "wdc")
STANCES = (SUPPORT, OBJECTION, ABSTENTION, NO_POSITION)
ELECTORATES = ("good_standing", "attendance")
CONSENSUS_FAMILY = ("consensus", "consensus_minus_one", "consensus_minus_parties_concerned")
MAJORITIES = ("simple_majority", "two_thirds")
# Further from adoption is lower: an objection may only ever move an outcome down this scale.
RANK = {BLOCKED: 0, UNDETERMINED: 1, ADOPTED: 2}

# Modest, so the whole file runs in a few seconds; every example evaluates all rules and countings.
PROPERTY = settings(max_examples=200, deadline=None)


@dataclasses.dataclass(frozen=True)
class Case:
    """Who takes part, who holds which stance (taking part or not), and the record's state."""

    taking_part: frozenset[str]
    stances: dict[str, str]
    observer_stances: dict[str, str]
    concerned: frozenset[str]
    complete: bool
    electorate: str

    def tally(self) -> Tally:
        ballots = [Ballot(code, stance) for code, stance in self.stances.items()]
        ballots += [
            Ballot(code, stance, observer=True) for code, stance in self.observer_stances.items()
        ]
        return tally_positions(
            ballots,
            self.taking_part,
            parties_concerned=self.concerned,
            complete=self.complete,
            electorate=self.electorate,
        )

    def outcomes(self) -> dict[tuple[str, str], rules.RuleResult]:
        return {(r.rule, r.explanation["counting"]): r for r in evaluate_all(self.tally())}

    def with_stance(self, code: str, stance: str, *, taking_part: bool = False) -> Case:
        return dataclasses.replace(
            self,
            stances={**self.stances, code: stance},
            taking_part=self.taking_part | {code} if taking_part else self.taking_part,
        )


cases = st.builds(
    Case,
    taking_part=st.frozensets(st.sampled_from(CODES)),
    # Ballots may come from participants not taking part (suspended, absent): they never count.
    stances=st.dictionaries(st.sampled_from(CODES), st.sampled_from(STANCES)),
    observer_stances=st.dictionaries(st.sampled_from(OBSERVERS), st.sampled_from(STANCES)),
    concerned=st.frozensets(st.sampled_from(CODES), max_size=3),
    complete=st.booleans(),
    electorate=st.sampled_from(ELECTORATES),
)


def result(rule: str, counting: str, *ballots: Ballot, complete: bool = True, **kwargs):
    taking_part = kwargs.pop(
        "taking_part", {ballot.holder for ballot in ballots if not ballot.observer}
    )
    return evaluate(
        tally_positions(ballots, taking_part, complete=complete, **kwargs), rule, counting
    )


def ballots(stance: str, n: int, start: int = 0) -> list[Ballot]:
    return [Ballot(f"P{i}", stance) for i in range(start, start + n)]


# --- objections only ever push towards blocking ---------------------------------------------


@PROPERTY
@given(case=cases, objector=st.sampled_from(CODES), joins=st.booleans())
def test_an_objection_never_turns_a_blocked_decision_into_an_adopted_one(case, objector, joins):
    before = case.outcomes()
    after = case.with_stance(objector, OBJECTION, taking_part=joins).outcomes()
    for key, old in before.items():
        if old.outcome == BLOCKED:
            assert after[key].outcome == BLOCKED, key


@PROPERTY
@given(case=cases, objector=st.sampled_from(CODES), joins=st.booleans())
def test_an_objection_never_brings_a_decision_closer_to_adoption(case, objector, joins):
    before = case.outcomes()
    after = case.with_stance(objector, OBJECTION, taking_part=joins).outcomes()
    for key, old in before.items():
        assert RANK[after[key].outcome] <= RANK[old.outcome], key


@PROPERTY
@given(case=cases, observer=st.sampled_from(OBSERVERS))
def test_an_observers_objection_never_changes_any_outcome(case, observer):
    before = case.outcomes()
    objecting = dataclasses.replace(
        case, observer_stances={**case.observer_stances, observer: OBJECTION}
    )
    after = objecting.outcomes()
    for key, old in before.items():
        assert (after[key].outcome, after[key].blocked_by) == (old.outcome, old.blocked_by), key
        assert observer in after[key].explanation["observer_objections"]


def test_an_observers_lone_objection_does_not_block_consensus():
    observer = Ballot("kpcsc", OBJECTION, observer=True)
    outcome = result("consensus", SILENCE_AS_CONSENT, Ballot("UA", SUPPORT), observer)
    assert (outcome.outcome, outcome.blocked_by) == (ADOPTED, ())
    assert outcome.explanation["observer_objections"] == ["kpcsc"]


# --- majorities at their exact boundaries ------------------------------------------------------


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize(
    ("rule", "yes", "no", "expected"),
    [
        ("two_thirds", 2, 1, ADOPTED),  # exactly two thirds is enough
        ("two_thirds", 4, 2, ADOPTED),
        ("two_thirds", 5, 3, BLOCKED),  # 62.5%: just short
        ("two_thirds", 1, 1, BLOCKED),
        ("simple_majority", 1, 1, BLOCKED),  # a tie is not a majority
        ("simple_majority", 3, 2, ADOPTED),
        ("simple_majority", 2, 1, ADOPTED),
        ("simple_majority", 2, 2, BLOCKED),
    ],
)
def test_majority_thresholds_hold_at_their_boundaries(rule, yes, no, expected, counting):
    # Everyone for it says so: both countings see the same votes.
    outcome = result(rule, counting, *ballots(SUPPORT, yes), *ballots(OBJECTION, no, start=yes))
    assert outcome.outcome == expected
    assert f"{yes} for, {no} against" in outcome.explanation["reason"]


@pytest.mark.parametrize(
    ("rule", "yes", "no", "expected"),
    [
        ("two_thirds", 2, 1, ADOPTED),
        ("two_thirds", 5, 3, BLOCKED),
        ("simple_majority", 1, 1, BLOCKED),
        ("simple_majority", 3, 2, ADOPTED),
    ],
)
def test_silence_counts_as_a_vote_for_only_under_silence_as_consent(rule, yes, no, expected):
    # One explicit support, the rest of the 'for' side silent, and abstainers that never vote.
    votes = [
        Ballot("P0", SUPPORT),
        *ballots(OBJECTION, no, start=yes),
        *ballots(ABSTENTION, 3, start=100),
    ]
    silent = {f"P{i}" for i in range(1, yes)}
    taking_part = {b.holder for b in votes} | silent
    by_silence = result(rule, SILENCE_AS_CONSENT, *votes, taking_part=taking_part)
    assert by_silence.outcome == expected
    assert f"{yes} for, {no} against" in by_silence.explanation["reason"]
    # Under `recorded` the silent participants are not votes at all: 1 for, `no` against.
    recorded = result(rule, RECORDED, *votes, taking_part=taking_part)
    assert f"1 for, {no} against" in recorded.explanation["reason"]


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("rule", MAJORITIES)
def test_abstentions_are_not_votes(rule, counting):
    outcome = result(
        rule,
        counting,
        *ballots(SUPPORT, 2),
        *ballots(OBJECTION, 1, start=2),
        *ballots(ABSTENTION, 9, start=3),
    )
    assert outcome.outcome == ADOPTED


# --- how the rules relate --------------------------------------------------------------------


@PROPERTY
@given(case=cases)
def test_consensus_adoption_implies_adoption_under_every_rule(case):
    """Consensus is the strictest rule: whatever it adopts, every other rule adopts too.

    The majority rules need a vote to count: with nobody counted as 'for' (and, as consensus
    adopted, nobody against) they have nothing to decide and stay undetermined. The implication
    therefore only holds where at least one participant counts as 'for'. Consensus itself now
    requires one (see `test_adoption_needs_someone_counted_for_it`), so for consensus the
    condition is implied by its adoption and asserted rather than assumed.
    """
    # Bias towards the interesting cases: nobody taking part objects and the record is complete.
    agreeing = dataclasses.replace(
        case,
        complete=True,
        stances={
            code: SUPPORT if stance == OBJECTION and code in case.taking_part else stance
            for code, stance in case.stances.items()
        },
    )
    for probe in (case, agreeing):
        tally = probe.tally()
        for counting in COUNTINGS:
            if evaluate(tally, "consensus", counting).outcome != ADOPTED:
                continue
            assert tally.yes(counting) > 0
            for name in RULES:
                assert evaluate(tally, name, counting).outcome == ADOPTED, (name, counting)


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("taking_part", [set(), {"AO", "BW"}], ids=["nobody", "all-abstain"])
def test_adoption_needs_someone_counted_for_it(taking_part, counting):
    """With nobody taking part, or every participant abstaining, nothing was agreed."""
    abstaining = [Ballot(code, ABSTENTION) for code in taking_part]
    tally = tally_positions(abstaining, taking_part, complete=True)
    for name in RULES:
        assert evaluate(tally, name, counting).outcome == UNDETERMINED, name


@PROPERTY
@given(case=cases)
def test_consensus_minus_parties_concerned_ignores_the_concerned_parties_only(case):
    tally = case.tally()
    objectors = {c for c, s in case.stances.items() if s == OBJECTION and c in case.taking_part}
    # Setting an objection aside does not make it a vote for: the same as an abstention.
    set_aside = dataclasses.replace(
        case,
        stances={
            code: ABSTENTION if stance == OBJECTION and code in case.concerned else stance
            for code, stance in case.stances.items()
        },
    )
    for counting in COUNTINGS:
        minus = evaluate(tally, "consensus_minus_parties_concerned", counting)
        plain = evaluate(set_aside.tally(), "consensus", counting)
        assert (minus.outcome, minus.blocked_by) == (plain.outcome, plain.blocked_by)
        if minus.outcome == BLOCKED:
            assert minus.blocked_by == tuple(sorted(objectors - case.concerned))
        if not objectors & case.concerned:
            full = evaluate(tally, "consensus", counting)
            assert (minus.outcome, minus.blocked_by) == (full.outcome, full.blocked_by)


def test_the_party_concerned_cannot_block_alone_but_others_still_can():
    votes = [Ballot("RU", OBJECTION), Ballot("UA", SUPPORT), Ballot("BY", ABSTENTION)]
    alone = result(
        "consensus_minus_parties_concerned", SILENCE_AS_CONSENT, *votes, parties_concerned={"RU"}
    )
    assert (alone.outcome, alone.blocked_by) == (ADOPTED, ())
    assert "set aside: RU" in alone.explanation["reason"]
    joined = result(
        "consensus_minus_parties_concerned",
        SILENCE_AS_CONSENT,
        *votes,
        Ballot("KG", OBJECTION),
        parties_concerned={"RU"},
    )
    assert (joined.outcome, joined.blocked_by) == (BLOCKED, ("KG",))


@PROPERTY
@given(case=cases, filled=st.lists(st.sampled_from((SUPPORT, OBJECTION, ABSTENTION)), min_size=12))
def test_recorded_counting_equals_silence_as_consent_when_nobody_is_silent(case, filled):
    # Every participant taking part states a position; 'no position' is silence, so none does.
    stances = dict(case.stances)
    for code, stance in zip(sorted(case.taking_part), filled, strict=False):
        if stances.get(code, NO_POSITION) == NO_POSITION:
            stances[code] = stance
    tally = dataclasses.replace(case, stances=stances).tally()
    assert tally.silent == 0
    for name in RULES:
        by_silence = evaluate(tally, name, SILENCE_AS_CONSENT)
        recorded = evaluate(tally, name, RECORDED)
        assert (recorded.outcome, recorded.blocked_by) == (
            by_silence.outcome,
            by_silence.blocked_by,
        )


# --- explanations ----------------------------------------------------------------------------


@PROPERTY
@given(case=cases)
def test_every_explanation_says_what_was_counted_and_why(case):
    tally = case.tally()
    counted_objectors = sorted(
        code
        for code, stance in case.stances.items()
        if stance == OBJECTION and code in case.taking_part
    )
    for outcome in evaluate_all(tally):
        explanation = outcome.explanation
        assert explanation["rule"] == outcome.rule
        assert explanation["outcome"] == outcome.outcome
        assert explanation["blocked_by"] == sorted(explanation["blocked_by"])
        assert tuple(explanation["blocked_by"]) == outcome.blocked_by
        assert set(outcome.blocked_by) <= set(counted_objectors)
        assert bool(outcome.blocked_by) == (outcome.outcome == BLOCKED)
        assert explanation["participants_counted"] == len(case.taking_part)
        assert explanation["objections"] == len(counted_objectors)
        assert explanation["counting"] in COUNTINGS
        assert explanation["electorate"] == case.electorate
        assert isinstance(explanation["reason"], str) and explanation["reason"]
    assert {(r.rule, r.explanation["counting"]) for r in evaluate_all(tally)} == {
        (name, counting) for name in RULES for counting in COUNTINGS
    }


def test_ballots_of_observers_and_of_participants_not_taking_part_are_not_counted():
    tally = tally_positions(
        [
            Ballot("UA", SUPPORT),
            Ballot("RU", OBJECTION),  # suspended or absent: not taking part
            Ballot("kpcsc", OBJECTION, observer=True),
            Ballot("wdc", SUPPORT, observer=True),
        ],
        {"UA", "BW"},
        complete=True,
    )
    assert (tally.participants_counted, tally.supports, tally.objections, tally.silent) == (
        2,
        1,
        0,
        1,
    )
    assert tally.observer_objectors == ("kpcsc",)
    assert evaluate(tally).outcome == ADOPTED


def test_an_incomplete_record_without_objections_is_undetermined_under_consensus():
    outcome = result("consensus", SILENCE_AS_CONSENT, Ballot("UA", SUPPORT), complete=False)
    assert outcome.outcome == UNDETERMINED
    assert "incomplete" in outcome.explanation["reason"]


# --- the registry ----------------------------------------------------------------------------


def test_the_registry_holds_the_five_rules_with_their_descriptions():
    assert set(CONSENSUS_FAMILY + MAJORITIES) == set(RULES)
    for registered in RULES.values():
        assert registered.title and registered.description


def test_unknown_rule_or_counting_is_refused():
    tally = tally_positions([Ballot("UA", SUPPORT)], {"UA"}, complete=True)
    with pytest.raises(ValueError, match="Unknown rule 'unanimity'"):
        evaluate(tally, "unanimity")
    with pytest.raises(ValueError, match="Unknown counting 'weighted'"):
        evaluate(tally, "consensus", "weighted")


def test_a_rule_name_can_be_registered_only_once(monkeypatch):
    monkeypatch.setattr(rules, "RULES", dict(RULES))

    @rules.rule("chair_decides", "The chair decides")
    def chair_decides(tally: Tally, counting: str):
        """Adopted whatever anyone says."""
        return ADOPTED, (), "the chair decided"

    assert rules.RULES["chair_decides"].description == "Adopted whatever anyone says."
    with pytest.raises(ValueError, match="already registered"):
        rules.rule("chair_decides", "Again")(chair_decides)
    with pytest.raises(ValueError, match="already registered"):
        rules.rule("consensus", "A second consensus")(chair_decides)
    assert rules.RULES["consensus"].decide is RULES["consensus"].decide
