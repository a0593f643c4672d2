"""Statistics endpoints: veto records, co-objections, blocs, per meeting and year,
counterfactual summaries."""

import pytest

from tests.api.helpers import assert_error, csv_rows

pytestmark = pytest.mark.django_db

BLOC = ["BY", "CF", "KG", "ML"]


def test_veto_records_of_every_participant_that_objected(kp_record, anon):
    rows = {row["participant"]: row for row in anon.get("/api/v1/statistics/veto-records/").json()}
    assert set(rows) == {"RU", *BLOC}
    assert rows["RU"] == {
        "participant": "RU",
        "name": "Russian Federation",
        "objections": 3,
        "vetoes": 3,
        "meetings_with_vetoes": 2,
    }
    assert rows["BY"]["objections"] == 2


def test_one_participants_veto_record(kp_record, anon):
    record = anon.get("/api/v1/statistics/veto-records/ru/").json()
    assert (record["participant"], record["vetoes"]) == ("RU", 3)
    assert {row["decision"] for row in record["blocked"]} == {
        "2022-kasane-ukraine-item",
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }
    assert {c["code"]: c["together"] for c in record["co_objectors"]} == dict.fromkeys(BLOC, 1)


def test_veto_record_of_a_participant_that_never_objected_is_zero(kp_record, anon):
    record = anon.get("/api/v1/statistics/veto-records/CA/").json()
    assert (record["objections"], record["vetoes"], record["blocked"]) == (0, 0, [])
    assert_error(anon.get("/api/v1/statistics/veto-records/XX/"), 404, "not_found")


def test_co_objection_pairs_and_matrix(kp_record, anon):
    pairs = anon.get("/api/v1/statistics/co-objections/").json()
    assert {"a": "BY", "b": "CF", "together": 2} in pairs
    assert {"a": "BY", "b": "RU", "together": 1} in pairs
    matrix = {
        row["participant"]: row["counts"]
        for row in anon.get("/api/v1/statistics/co-objection-matrix/").json()
    }
    assert matrix["BY"] == {"CF": 2, "KG": 2, "ML": 2, "RU": 1}
    assert matrix["RU"] == {"BY": 1, "CF": 1, "KG": 1, "ML": 1}
    assert anon.get("/api/v1/statistics/co-objections/?year=2023").json() == []
    rows = csv_rows(anon.get("/api/v1/statistics/co-objection-matrix/?format=csv"))
    assert rows[0]["participant"] == "BY" and rows[0]["counts.CF"] == "2"


def test_blocs_of_participants_objecting_together(kp_record, anon):
    assert anon.get("/api/v1/statistics/blocs/").json() == [
        {"members": BLOC, "pairs": 6, "strongest_link": 2}
    ]
    (bloc,) = anon.get("/api/v1/statistics/blocs/?min_together=1").json()
    assert bloc["members"] == sorted([*BLOC, "RU"])
    assert_error(
        anon.get("/api/v1/statistics/blocs/?min_together=0"), 400, "invalid", ["min_together"]
    )


def test_statistics_per_meeting_and_year(kp_record, anon):
    meetings = {row["meeting"]: row for row in anon.get("/api/v1/statistics/meetings/").json()}
    assert meetings["2023-plenary-victoria-falls"] == {
        "meeting": "2023-plenary-victoria-falls",
        "name": "2023 plenary, Victoria Falls",
        "kind": "plenary",
        "start_date": "2023-11-06",
        "items_removed": 1,
        "decisions": 2,
        "decisions_blocked": 2,
        "communique_adopted": False,
    }
    assert [r["meeting"] for r in anon.get("/api/v1/statistics/meetings/?year=2022").json()] == [
        "2022-intersessional-kasane"
    ]
    years = {row["year"]: row for row in anon.get("/api/v1/statistics/years/").json()}
    assert years[2022]["items_removed"] == 1
    assert years[2022]["decisions_blocked"] == 2
    assert years[2023]["communiques_not_adopted"] == 1


def test_counterfactual_summary_for_every_rule(kp_record, anon):
    summary = {row["rule"]: row for row in anon.get("/api/v1/statistics/counterfactuals/").json()}
    assert summary["two_thirds"]["blocked_would_pass"] == 4
    assert summary["consensus"]["differ"] == 0
    recorded = {
        row["rule"]: row
        for row in anon.get("/api/v1/statistics/counterfactuals/?counting=recorded").json()
    }
    assert recorded["two_thirds"]["blocked_would_pass"] == 1
    assert_error(
        anon.get("/api/v1/statistics/counterfactuals/?counting=loudest"),
        400,
        "invalid",
        ["counting"],
    )


def test_which_blocked_decisions_would_pass_under_two_thirds(kp_record, anon):
    body = anon.get(
        "/api/v1/statistics/counterfactuals/two_thirds/?outcome=blocked&would_be=adopted"
    ).json()
    assert body["count"] == 4
    assert {row["decision"] for row in body["results"]} == {
        "2022-kasane-ukraine-item",
        "2022-kasane-exclude-russia",
        "2023-plenary-ukraine-item",
        "2023-plenary-communique",
    }
    assert all(row["would_be"] == "adopted" for row in body["results"])
    recorded = anon.get(
        "/api/v1/statistics/counterfactuals/two_thirds/?outcome=blocked&would_be=adopted"
        "&counting=recorded"
    ).json()
    assert [row["decision"] for row in recorded["results"]] == ["2023-plenary-ukraine-item"]
    assert_error(anon.get("/api/v1/statistics/counterfactuals/dictator/"), 404, "not_found")
    assert_error(
        anon.get("/api/v1/statistics/counterfactuals/two_thirds/?outcome=maybe"), 400, "invalid"
    )
