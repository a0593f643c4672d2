"""Reading letters, proposals, decisions (with counterfactuals), positions and the objections
list (writes: test_writes.py)."""

import pytest
from django.db import connection

from tests.api.helpers import assert_error, csv_rows

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"
KASANE_ITEM = "2022-kasane-ukraine-item"
KASANE_OBJECTORS = {"RU", "BY", "CF", "KG", "ML"}


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:800]
    return response.json()["results"]


# --- letters ------------------------------------------------------------------------------


def test_letter_by_slug_with_quotes_and_proposals(kp_record, anon):
    letter = anon.get("/api/v1/letters/2022-06-13-ukraine/").json()
    assert letter["authors"] == ["UA"]
    assert letter["signatory"] == "andrii-tkalenko"
    assert set(letter["proposals"]) >= {"2022-ukraine-definition-state-actors"}
    russia = anon.get("/api/v1/letters/2022-05-20-russia/").json()
    assert [q["text"] for q in russia["quotes"]] == [
        "no implications",
        "was absolutely beyond the scope",
    ]
    assert russia["date_display"] == "20 May 2022"


def test_letters_filter_by_author_year_dates_and_publicity(kp_record, anon):
    def letter_slugs(query):
        return [row["slug"] for row in results(anon.get(f"/api/v1/letters/?{query}"))]

    assert letter_slugs("author=RU") == ["2022-05-20-russia"]
    assert "2022-06-six-participants" in letter_slugs("author=gb,zz")
    assert letter_slugs("date_from=2022-06-02&date_to=2022-06-10") == ["2022-06-09-kp-chair"]
    assert len(letter_slugs("year=2022")) == 6  # the European Commission's letter is undated
    assert letter_slugs("ordering=date")[0] == "2022-european-commission"  # undated first
    assert letter_slugs("publicity=public") == []


def test_full_text_search_in_letters(kp_record, anon):
    def letter_slugs(q):
        return [row["slug"] for row in results(anon.get("/api/v1/letters/", {"q": q}))]

    if connection.vendor == "postgresql":
        # Stemming: "credibility" also finds Canada's "could not credibly vouch".
        assert set(letter_slugs("credibility")) == {"2022-06-canada", "2022-european-commission"}
    else:
        assert letter_slugs("credibility") == ["2022-european-commission"]
    assert set(letter_slugs("deadlock common ground")) == {"2022-06-09-kp-chair"}
    assert letter_slugs("diamonds kasane zanzibar") == []


# --- proposals ----------------------------------------------------------------------------


def test_proposals_filter_by_sponsor_status_and_meeting(kp_record, anon):
    def proposal_slugs(query):
        return {row["slug"] for row in results(anon.get(f"/api/v1/proposals/?{query}"))}

    assert proposal_slugs("sponsor=ZW") == {"2024-unga-resolution-conflict-diamonds"}
    assert proposal_slugs(f"meeting={KASANE}&status=not_adopted") == {
        "2022-kasane-item-russia-ukraine",
        "2022-kpcsc-discuss-russian-diamonds",
        "2022-exclude-russia-from-kasane",
    }
    assert proposal_slugs("kind=definition_amendment") == {"2022-ukraine-definition-state-actors"}
    exclusion = anon.get("/api/v1/proposals/2022-exclude-russia-from-kasane/").json()
    assert exclusion["decisions"] == ["2022-kasane-exclude-russia"]
    assert exclusion["observer_sponsors"] == ["kpcsc"]


# --- decisions ----------------------------------------------------------------------------


def test_decision_with_every_position_the_outcome_and_the_explanation(kp_record, anon):
    decision = anon.get(f"/api/v1/decisions/{KASANE_ITEM}/").json()
    assert decision["outcome"] == "blocked"
    assert decision["reported_outcome"] == "blocked"
    assert (
        decision["subject"]
        == "Russia's invasion of Ukraine and the definition of conflict diamonds"
    )
    objectors = {p["participant"] for p in decision["positions"] if p["stance"] == "objection"}
    assert objectors == KASANE_OBJECTORS
    assert {p["observer"] for p in decision["positions"] if p["observer"]} == {"kpcsc"}
    explanation = decision["explanation"]
    assert set(explanation["blocked_by"]) == KASANE_OBJECTORS
    assert explanation["rule"] == "consensus"
    assert "objection" in explanation["reason"]
    assert decision["counterfactuals"]["two_thirds:silence_as_consent"] == "adopted"
    assert decision["counterfactual"] is None
    (account,) = decision["accounts"]
    assert set(account["named_objectors"]) == {"RU", "CN", "BY"}


@pytest.mark.parametrize(
    ("query", "outcome", "differs"),
    [
        ("rule=two_thirds", "adopted", True),
        ("rule=two_thirds&counting=recorded", "blocked", False),
        ("rule=simple_majority&counting=recorded", "adopted", True),
        ("rule=consensus_minus_one", "blocked", False),
        ("rule=consensus", "blocked", False),
    ],
)
def test_counterfactual_outcome_under_another_rule_with_the_engines_explanation(
    kp_record, anon, query, outcome, differs
):
    decision = anon.get(f"/api/v1/decisions/{KASANE_ITEM}/?{query}").json()
    counterfactual = decision["counterfactual"]
    assert counterfactual["outcome"] == outcome
    assert counterfactual["differs"] is differs
    assert counterfactual["explanation"]["outcome"] == outcome
    assert counterfactual["explanation"]["rule"] == counterfactual["rule"]
    assert counterfactual["explanation"]["reason"]
    assert decision["outcome"] == "blocked"  # the rule of record's outcome is unchanged


def test_unknown_rule_or_counting_is_a_400(kp_record, anon):
    assert_error(
        anon.get(f"/api/v1/decisions/{KASANE_ITEM}/?rule=dictator"), 400, "invalid", ["rule"]
    )
    response = anon.get(f"/api/v1/decisions/{KASANE_ITEM}/?rule=consensus&counting=loudest")
    assert_error(response, 400, "invalid", ["counting"])


def test_decisions_filters(kp_record, anon):
    def decision_slugs(query):
        return {row["slug"] for row in results(anon.get(f"/api/v1/decisions/?{query}"))}

    assert decision_slugs("outcome=adopted") == {"2024-unga-resolution"}
    assert decision_slugs("objector=RU") == {
        KASANE_ITEM,
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }
    assert decision_slugs(f"meeting={KASANE}&subject_kind=proposal") == {
        "2022-kasane-exclude-russia"
    }
    assert decision_slugs("year=2024") == {"2024-unga-resolution"}
    assert decision_slugs("method=correspondence") == {KASANE_ITEM}
    assert decision_slugs("differs_under=two_thirds") == {
        KASANE_ITEM,
        "2022-kasane-exclude-russia",
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }
    assert decision_slugs("date_from=2023-01-01&date_to=2023-12-31") == {
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }


def test_rules_list_names_the_rule_of_record(anon):
    rules = anon.get("/api/v1/rules/").json()
    assert {r["name"] for r in rules} >= {"consensus", "two_thirds", "simple_majority"}
    assert [r["name"] for r in rules if r["rule_of_record"]] == ["consensus"]


# --- positions ----------------------------------------------------------------------------


def test_positions_filter_by_decision_participant_and_stance(kp_record, anon):
    objections = results(
        anon.get(f"/api/v1/positions/?decision={KASANE_ITEM}&stance=objection&page_size=100")
    )
    assert {p["participant"] for p in objections} == KASANE_OBJECTORS
    russia = results(anon.get("/api/v1/positions/?participant=RU"))
    assert {p["decision"] for p in russia} == {
        KASANE_ITEM,
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }
    assert results(anon.get("/api/v1/positions/?observer=kpcsc&year=2022"))


# --- objections ---------------------------------------------------------------------------


def test_every_objection_by_russia(kp_record, anon):
    rows = results(anon.get("/api/v1/objections/?participant=RU&ordering=-date"))
    assert [(r["date"], r["blocked"]) for r in rows] == [
        ("2023-11-06", True),
        ("2023-11-06", True),
        ("2022-06-20", True),
    ]
    assert {r["decision"] for r in rows} == {
        "2023-plenary-communique",
        "2023-plenary-ukraine-item",
        KASANE_ITEM,
    }
    kasane = next(r for r in rows if r["decision"] == KASANE_ITEM)
    assert kasane == {
        "id": kasane["id"],
        "participant": "RU",
        "participant_name": "Russian Federation",
        "decision": KASANE_ITEM,
        "decision_id": kasane["decision_id"],
        "decision_title": (
            "Keep the discussion of Russia's invasion of Ukraine on the Kasane agenda"
        ),
        "subject_kind": "agenda_item",
        "subject": "Russia's invasion of Ukraine and the definition of conflict diamonds",
        "meeting": KASANE,
        "date": "2022-06-20",
        "year": 2022,
        "blocked": True,
        "outcome": "blocked",
        "reason": kasane["reason"],
        "letter": "2022-05-20-russia",
    }


def test_objections_filters(kp_record, anon):
    def count(query):
        return len(results(anon.get(f"/api/v1/objections/?{query}")))

    assert count("") == 11
    assert count(f"meeting={KASANE}") == 9
    assert count(f"meeting={KASANE}&subject_kind=agenda_item") == 5
    assert count("subject_kind=proposal") == 4
    assert count("subject_kind=communique") == 1
    assert count("year=2023") == 2
    assert count("date_from=2022-06-20&date_to=2022-06-20") == 9
    assert count("participant=ru,by") == 5
    assert count("participant=XX") == 0  # an unknown code matches nothing
    assert count("blocked=true") == 11
    assert count("blocked=false") == 0
    assert count(f"decision={KASANE_ITEM}") == 5


def test_objections_as_csv_in_the_same_columns(kp_record, anon):
    rows = csv_rows(anon.get("/api/v1/objections/?participant=RU", HTTP_ACCEPT="text/csv"))
    assert len(rows) == 3
    assert list(rows[0]) == [
        "id",
        "participant",
        "participant_name",
        "decision",
        "decision_id",
        "decision_title",
        "subject_kind",
        "subject",
        "meeting",
        "date",
        "year",
        "blocked",
        "outcome",
        "reason",
        "letter",
    ]
    assert {row["blocked"] for row in rows} == {"true"}


def test_one_objection_by_id(kp_record, anon):
    row = results(anon.get("/api/v1/objections/?participant=RU"))[0]
    assert anon.get(f"/api/v1/objections/{row['id']}/").json() == row
    supports = results(anon.get("/api/v1/positions/?stance=support"))
    assert_error(anon.get(f"/api/v1/objections/{supports[0]['id']}/"), 404)
    assert_error(anon.get("/api/v1/objections/abc/"), 404)
