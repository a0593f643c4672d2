"""Reading meetings, a meeting's agenda and agenda items (writes: test_writes.py)."""

import pytest

from tests.api.helpers import assert_error, csv_rows

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"
VICTORIA_FALLS = "2023-plenary-victoria-falls"
ITEM = "Russia's invasion of Ukraine and the definition of conflict diamonds"


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["slug"] for row in response.json()["results"]]


def test_meeting_by_slug_with_the_facts_of_record(kp_record, anon):
    kasane = anon.get(f"/api/v1/meetings/{KASANE}/").json()
    assert kasane["kind"] == "intersessional"
    assert (kasane["start_date"], kasane["end_date"]) == ("2022-06-20", "2022-06-24")
    assert (kasane["city"], kasane["host"], kasane["chair"]) == ("Kasane", "BW", "BW")
    assert kasane["chair_person"] == "jacob-thamage"
    assert kasane["name"] == "2022 intersessional, Kasane"
    boycott = next(s for s in kasane["sessions"] if s["boycotted_by"])
    assert (boycott["chaired_by"], sorted(boycott["boycotted_by"])) == ("RU", ["GB", "US"])
    assert anon.get(f"/api/v1/meetings/{VICTORIA_FALLS}/").json()["communique_adopted"] is False


def test_meetings_filter_by_year_kind_host_and_dates(kp_record, anon):
    assert slugs(anon.get("/api/v1/meetings/?year=2022")) == [KASANE]
    assert slugs(anon.get("/api/v1/meetings/?kind=plenary")) == [VICTORIA_FALLS]
    assert slugs(anon.get("/api/v1/meetings/?host=zw")) == [VICTORIA_FALLS]
    assert slugs(anon.get("/api/v1/meetings/?date_from=2022-01-01&date_to=2023-12-31")) == [
        VICTORIA_FALLS,
        KASANE,
    ]
    assert slugs(anon.get("/api/v1/meetings/?ordering=start_date"))[0] == KASANE
    assert slugs(anon.get("/api/v1/meetings/?communique_adopted=false")) == [VICTORIA_FALLS]


def test_kasane_agenda_shows_the_item_included_then_removed_by_the_blocked_decision(
    kp_record, anon
):
    agenda = anon.get(f"/api/v1/meetings/{KASANE}/agenda/").json()
    assert agenda["meeting"] == KASANE
    draft, final = agenda["versions"]
    assert (draft["number"], draft["label"], draft["dated"]) == (1, "Draft agenda", "2022-05-20")
    (included,) = draft["items"]
    (removed,) = final["items"]
    assert (included["title"], included["status"]) == (ITEM, "included")
    assert included["time_slot_minutes"] == 60
    assert removed["status"] == "removed"
    assert removed["removal_decision"] == "2022-kasane-ukraine-item"
    assert removed["proposers"] == ["AU", "CA", "EU", "GB", "UA", "US"]
    assert removed["observer_proposers"] == ["kpcsc"]


def test_agenda_as_csv_has_a_row_per_item_per_version(kp_record, anon):
    rows = csv_rows(anon.get(f"/api/v1/meetings/{KASANE}/agenda/?format=csv"))
    assert [(r["version"], r["status"], r["removal_decision"]) for r in rows] == [
        ("1", "included", ""),
        ("2", "removed", "2022-kasane-ukraine-item"),
    ]
    assert rows[0]["proposers"] == "AU; CA; EU; GB; UA; US"


def test_agenda_of_a_meeting_without_versions_is_empty_and_unknown_meeting_404(kp_record, anon):
    assert anon.get("/api/v1/meetings/2024-un-general-assembly/agenda/").json() == {
        "meeting": "2024-un-general-assembly",
        "versions": [],
    }
    assert_error(anon.get("/api/v1/meetings/1999-nowhere/agenda/"), 404, "not_found")


def test_agenda_items_with_their_history(kp_record, anon):
    (item,) = anon.get(f"/api/v1/agenda-items/?meeting={KASANE}").json()["results"]
    assert item["title"] == ITEM
    assert item["removed_by"] == "2022-kasane-ukraine-item"
    assert [(h["version"], h["status"]) for h in item["history"]] == [
        (1, "included"),
        (2, "removed"),
    ]
    assert item["history"][1]["removal_decision"] == "2022-kasane-ukraine-item"
    assert anon.get(f"/api/v1/agenda-items/{item['id']}/").json() == item


def test_agenda_items_filters(kp_record, anon):
    def titles(query):
        response = anon.get(f"/api/v1/agenda-items/?{query}")
        assert response.status_code == 200, response.content
        return [row["title"] for row in response.json()["results"]]

    assert len(titles("removed=true")) == 2
    assert titles("removed=false") == []
    assert titles("year=2023") == ["Implications of Russia's invasion of Ukraine for the KP"]
    assert titles("proposer=CA") == [ITEM]
    assert len(titles("status=proposed")) == 1
    assert titles("ordering=date")[0] == ITEM


def test_full_text_search_in_agenda_items(kp_record, anon):
    def titles(q):
        return [r["title"] for r in anon.get("/api/v1/agenda-items/", {"q": q}).json()["results"]]

    assert len(titles("invasion")) == 2
    assert titles("definition") == [ITEM]  # stemming (PostgreSQL) or substring (SQLite)
    assert titles("civil society coalition") == [ITEM]  # every word, in the note on proposers
    assert titles("zanzibar") == []
