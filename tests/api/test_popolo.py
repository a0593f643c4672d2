"""The Popolo export is valid against the Popolo JSON Schemas (draft 3), with every
http://www.popoloproject.com/schemas/NAME.json reference resolved to the local copy in
../shared/popolo/schemas (no network), and says what the record says."""

import copy
import json
from pathlib import Path

import pytest
from django.conf import settings
from jsonschema import Draft3Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

pytestmark = pytest.mark.django_db

SCHEMAS = Path(settings.BASE_DIR) / ".." / "shared" / "popolo" / "schemas"
BASE = "http://www.popoloproject.com/schemas/"
COLLECTIONS = {
    "organizations": "organization",
    "persons": "person",
    "memberships": "membership",
    "events": "event",
    "motions": "motion",
    "vote_events": "vote_event",
}


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft3Validator]:
    assert SCHEMAS.is_dir(), f"The Popolo schemas are expected in {SCHEMAS.resolve()}"
    schemas = {path.stem: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    registry = Registry().with_resources(
        (f"{BASE}{name}.json", Resource.from_contents(schema, default_specification=DRAFT3))
        for name, schema in schemas.items()
    )
    return {
        name: Draft3Validator(
            schemas[name], registry=registry, format_checker=Draft3Validator.FORMAT_CHECKER
        )
        for name in COLLECTIONS.values()
    }


def errors(validators, document: dict) -> list[str]:
    found = []
    for collection, schema in COLLECTIONS.items():
        for index, item in enumerate(document[collection]):
            for error in validators[schema].iter_errors(item):
                found.append(f"{collection}[{index}] {list(error.absolute_path)}: {error.message}")
    return found


def test_the_export_is_valid_popolo(kp_record, anon, validators):
    document = anon.get("/api/v1/popolo/").json()
    assert set(document) == set(COLLECTIONS)
    assert all(document[collection] for collection in COLLECTIONS)
    assert errors(validators, document) == []


def test_references_are_resolved_so_a_broken_nested_object_is_caught(kp_record, anon, validators):
    document = anon.get("/api/v1/popolo/").json()
    broken = copy.deepcopy(document)
    broken["vote_events"][0]["counts"][0]["value"] = "five"  # count.json, reached by $ref
    broken["organizations"][1]["identifiers"][0].pop("identifier")  # identifier.json
    broken["events"][0]["start_date"] = "20 June 2022"  # a pattern of event.json itself
    assert len(errors(validators, broken)) == 3


def test_the_export_says_what_the_record_says(kp_record, anon):
    document = anon.get("/api/v1/popolo/").json()
    organizations = {o["id"]: o for o in document["organizations"]}
    assert organizations["participant:RU"]["name"] == "Russian Federation"
    assert organizations["observer:kpcsc"]["classification"] == "observer"
    assert {e["id"] for e in document["events"]} == {
        "meeting:2022-intersessional-kasane",
        "meeting:2023-plenary-victoria-falls",
        "meeting:2024-un-general-assembly",
    }
    votes = {v["id"]: v for v in document["vote_events"]}
    kasane = votes["vote:2022-kasane-ukraine-item"]
    assert kasane["result"] == "fail"
    assert kasane["legislative_session_id"] == "meeting:2022-intersessional-kasane"
    counts = {c["option"]: c["value"] for c in kasane["counts"]}
    assert (counts["yes"], counts["no"]) == (6, 5)
    against = {v["voter_id"] for v in kasane["votes"] if v["option"] == "no"}
    assert against == {f"participant:{code}" for code in ("RU", "BY", "CF", "KG", "ML")}
    observer = next(v for v in kasane["votes"] if v["voter_id"] == "observer:kpcsc")
    assert (observer["role"], observer["weight"]) == ("observer", 0)
    motions = {m["id"]: m for m in document["motions"]}
    assert motions[kasane["motion_id"]]["result"] == "fail"
    exclusion = votes["vote:2022-kasane-exclude-russia"]
    assert exclusion["motion_id"] == "proposal:2022-exclude-russia-from-kasane"
    assert votes["vote:2024-unga-resolution"]["start_date"] == "2024-04-03T00:00:00Z"
    chairs = [m for m in document["memberships"] if m["id"].startswith("chair:")]
    assert any(m.get("on_behalf_of_id") == "participant:BW" for m in chairs)
    roles = [m for m in document["memberships"] if m["id"].startswith("role:")]
    assert any(m["person_id"] == "person:ioanna-sahas-martin" for m in roles)


def test_the_export_narrows_to_a_year_or_a_meeting(kp_record, anon, validators):
    document = anon.get("/api/v1/popolo/?year=2023").json()
    assert [e["id"] for e in document["events"]] == ["meeting:2023-plenary-victoria-falls"]
    assert {v["id"] for v in document["vote_events"]} == {
        "vote:2023-plenary-ukraine-item",
        "vote:2023-plenary-communique",
    }
    assert errors(validators, document) == []
    document = anon.get("/api/v1/popolo/?meeting=2024-un-general-assembly").json()
    assert [m["id"] for m in document["motions"]] == [
        "proposal:2024-unga-resolution-conflict-diamonds"
    ]
    assert anon.get("/api/v1/popolo/?format=csv").status_code == 406  # a document, not a list
