"""Reading participants, observers, people, working bodies and chairs (writes: test_writes.py)."""

import pytest

from tests.api.helpers import csv_rows

pytestmark = pytest.mark.django_db


def codes(response) -> set[str]:
    assert response.status_code == 200, response.content[:500]
    return {row["code"] for row in response.json()["results"]}


def test_participant_by_iso_code_with_its_sources(kp_record, anon):
    russia = anon.get("/api/v1/participants/RU/").json()
    assert russia["name"] == "Russian Federation"
    assert russia["kind"] == "state"
    assert russia["sources"]


def test_participant_statuses_are_listed(kp_record, anon):
    with_status = [
        row
        for row in anon.get("/api/v1/participants/?page_size=100").json()["results"]
        if row["statuses"]
    ]
    assert with_status
    assert {"status", "start_date", "end_date", "note"} == set(with_status[0]["statuses"][0])


def test_participants_filter_by_kind_and_name(kp_record, anon):
    assert codes(anon.get("/api/v1/participants/?kind=regional_organisation")) == {"EU"}
    assert "RU" in codes(anon.get("/api/v1/participants/?name=russia"))


def test_participants_as_csv(kp_record, anon):
    rows = csv_rows(anon.get("/api/v1/participants/?format=csv&page_size=500"))
    assert len(rows) == 57
    assert {"code", "name", "kind", "sources"} <= set(rows[0])


def test_observers(kp_record, anon):
    observers = codes(anon.get("/api/v1/observers/"))
    assert "kpcsc" in observers
    assert anon.get("/api/v1/observers/kpcsc/").json()["code"] == "kpcsc"


def test_people_with_their_roles_filtered_by_participant(kp_record, anon):
    people = anon.get("/api/v1/people/?participant=ca").json()["results"]
    assert [person["slug"] for person in people] == ["ioanna-sahas-martin"]
    (role,) = people[0]["roles"]
    assert role["participant"] == "CA"


def test_chairs_of_the_kp_by_year(kp_record, anon):
    chairs = anon.get("/api/v1/chairs/?body=kp&year=2022").json()["results"]
    assert [(c["participant"], c["body"]) for c in chairs] == [("BW", None)]


def test_working_bodies_list(kp_record, anon):
    response = anon.get("/api/v1/working-bodies/")
    assert response.status_code == 200
    assert "results" in response.json()
