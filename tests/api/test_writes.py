"""Writing through the API: who may, what bad input gets, and that a write is whole or nothing.

Every writable resource goes through the same matrix: anonymous 401, viewer's token 403,
editor's token accepted and persisted, bad input 400 with field errors and nothing saved,
unknown id 404, update and delete.
"""

from dataclasses import dataclass, field

import pytest
from django.db.models import Model
from django.db.models.signals import m2m_changed

from meetings.models import AgendaItem, Meeting
from participants.models import Chairmanship, Observer, Participant, Person, WorkingBody
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import Source
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"
SOURCES = ["reuters-2022-06-16"]


@dataclass
class Resource:
    path: str
    model: type[Model]
    lookup: str  # the field of the response that names the new row in URLs
    valid: dict
    invalid: dict
    invalid_fields: list[str]
    change: dict
    unknown: str = "no-such-thing"
    extra: dict = field(default_factory=dict)


RESOURCES = [
    Resource(
        "sources",
        Source,
        "key",
        {"key": "new-source", "publisher": "P", "title": "T", "url": "https://example.org/n"},
        {"key": "not a key!", "publisher": "", "url": "not a url"},
        ["key", "publisher", "title", "url"],
        {"title": "Another title"},
    ),
    Resource(
        "participants",
        Participant,
        "code",
        {"code": "ZZ", "name": "Zedland", "kind": "state", "sources": SOURCES},
        {"code": "zzz", "name": "", "kind": "empire", "sources": []},
        ["code", "name", "kind", "sources"],
        {"note": "Joined late."},
        unknown="XX",
    ),
    Resource(
        "observers",
        Observer,
        "code",
        {"code": "new-watch", "name": "New watchdog", "sources": SOURCES},
        {"code": "", "name": "x", "sources": ["no-such-source"]},
        ["code", "sources"],
        {"description": "Watches."},
    ),
    Resource(
        "people",
        Person,
        "slug",
        {"slug": "new-person", "name": "New Person", "sources": SOURCES},
        {"slug": "New Person", "name": ""},
        ["slug", "name", "sources"],
        {"name": "Renamed Person"},
    ),
    Resource(
        "working-bodies",
        WorkingBody,
        "slug",
        {"slug": "wg-new", "name": "WG New", "kind": "working_group", "sources": SOURCES},
        {"slug": "wg-new", "name": "WG New", "kind": "club", "sources": SOURCES},
        ["kind"],
        {"name": "WG Renamed"},
    ),
    Resource(
        "chairs",
        Chairmanship,
        "id",
        {"year": 2030, "participant": "ZA", "sources": SOURCES},
        # Out of the plausible years: a check constraint, reported on the input as a whole.
        {"year": 1066, "participant": "ZA", "sources": SOURCES},
        ["non_field_errors"],
        {"vice": True},
        unknown="999999",
    ),
    Resource(
        "meetings",
        Meeting,
        "slug",
        {
            "slug": "2030-plenary-somewhere",
            "kind": "plenary",
            "start_date": "2030-11-01",
            "end_date": "2030-11-03",
            "host": "ZA",
            "sources": SOURCES,
        },
        # Ends before it starts: a check constraint, reported on the input as a whole.
        {
            "slug": "2030-plenary-backwards",
            "kind": "plenary",
            "start_date": "2030-11-03",
            "end_date": "2030-11-01",
            "sources": SOURCES,
        },
        ["non_field_errors"],
        {"communique_adopted": True},
    ),
    Resource(
        "agenda-items",
        AgendaItem,
        "id",
        {"meeting": KASANE, "title": "Rules of procedure", "proposers": ["UA"], "sources": SOURCES},
        {"meeting": "no-such-meeting", "title": "", "time_slot_minutes": -5, "sources": SOURCES},
        ["meeting", "title", "time_slot_minutes"],
        {"description": "Added late."},
        unknown="999999",
    ),
    Resource(
        "letters",
        Letter,
        "slug",
        {
            "slug": "2030-01-01-zedland",
            "date": "2030-01-01",
            "subject": "Zedland writes",
            "summary": "Zedland has views.",
            "authors": ["RU"],
            "sources": SOURCES,
        },
        {"slug": "2030-bad", "date": "yesterday", "subject": "", "summary": "x", "sources": []},
        ["date", "subject", "sources"],
        {"publicity": "public"},
    ),
    Resource(
        "proposals",
        Proposal,
        "slug",
        {
            "slug": "new-proposal",
            "title": "Tighten internal controls",
            "kind": "procedural",
            "sponsors": ["UA", "EU"],
            "meeting": KASANE,
            "sources": SOURCES,
        },
        {"slug": "new-proposal", "title": "x", "kind": "wish", "sponsors": ["XX"], "sources": []},
        ["kind", "sponsors", "sources"],
        {"status": "withdrawn"},
    ),
    Resource(
        "decisions",
        Decision,
        "slug",
        {
            "slug": "2022-kasane-communique",
            "title": "Final communique of the Kasane intersessional",
            "subject_kind": "communique",
            "meeting": KASANE,
            "method": "meeting",
            "sources": SOURCES,
        },
        # A decision on a proposal must name the proposal: a check constraint.
        {
            "slug": "2022-kasane-nothing",
            "title": "About nothing",
            "subject_kind": "proposal",
            "meeting": KASANE,
            "sources": SOURCES,
        },
        ["non_field_errors"],
        {"summary": "Nobody recorded what happened."},
    ),
    Resource(
        "positions",
        Position,
        "id",
        {
            "decision": "2024-unga-resolution",
            "participant": "UA",
            "stance": "support",
            "sources": ["news-site-2024-04"],
        },
        # A position is held by a participant or an observer, not both.
        {
            "decision": "2024-unga-resolution",
            "participant": "UA",
            "observer": "kpcsc",
            "stance": "support",
            "sources": ["news-site-2024-04"],
        },
        ["non_field_errors"],
        {"reason": "For the record."},
        unknown="999999",
    ),
]
IDS = [resource.path for resource in RESOURCES]


def url(resource: Resource, key=None) -> str:
    return f"/api/v1/{resource.path}/" + (f"{key}/" if key is not None else "")


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_anonymous_write_is_refused_with_401(kp_record, anon, resource):
    before = resource.model.objects.count()
    response = anon.post(url(resource), resource.valid, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert resource.model.objects.count() == before


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_viewer_token_write_is_refused_with_403(kp_record, viewer, resource):
    before = resource.model.objects.count()
    assert_error(viewer.post(url(resource), resource.valid, format="json"), 403)
    assert resource.model.objects.count() == before


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_editor_write_is_accepted_and_persisted(kp_record, editor, anon, resource):
    before = resource.model.objects.count()
    response = editor.post(url(resource), resource.valid, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert resource.model.objects.count() == before + 1
    key = created[resource.lookup]
    read = anon.get(url(resource, key)).json()
    for name, value in resource.valid.items():
        if isinstance(value, list):
            assert sorted(read[name]) == sorted(value), name
        else:
            assert read[name] == value, name

    response = editor.patch(url(resource, key), resource.change, format="json")
    assert response.status_code == 200, response.json()
    for name, value in resource.change.items():
        assert anon.get(url(resource, key)).json()[name] == value

    assert editor.delete(url(resource, key)).status_code == 204
    assert resource.model.objects.count() == before
    assert_error(anon.get(url(resource, key)), 404, "not_found")


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_bad_input_is_a_400_with_field_errors_and_nothing_saved(kp_record, editor, resource):
    before = resource.model.objects.count()
    response = editor.post(url(resource), resource.invalid, format="json")
    error = assert_error(response, 400, "invalid", resource.invalid_fields)
    assert all(isinstance(messages, list) and messages for messages in error["fields"].values())
    assert resource.model.objects.count() == before


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_unknown_id_is_a_404_for_reads_and_writes(kp_record, editor, resource):
    assert_error(editor.get(url(resource, resource.unknown)), 404, "not_found")
    assert_error(editor.patch(url(resource, resource.unknown), {}, format="json"), 404)
    assert_error(editor.delete(url(resource, resource.unknown)), 404)


def test_a_position_written_through_the_api_moves_the_outcome_through_the_engine(
    kp_record, editor, anon
):
    decision = "/api/v1/decisions/2024-unga-resolution/"
    assert anon.get(decision).json()["outcome"] == "adopted"
    response = editor.post(
        "/api/v1/positions/",
        {
            "decision": "2024-unga-resolution",
            "participant": "RU",
            "stance": "objection",
            "sources": ["news-site-2024-04"],
        },
        format="json",
    )
    assert response.status_code == 201
    after = anon.get(decision).json()
    assert after["outcome"] == "blocked"
    assert after["explanation"]["blocked_by"] == ["RU"]
    assert editor.delete(f"/api/v1/positions/{response.json()['id']}/").status_code == 204
    assert anon.get(decision).json()["outcome"] == "adopted"


def test_the_outcome_cannot_be_written(kp_record, editor):
    response = editor.patch(
        "/api/v1/decisions/2022-kasane-ukraine-item/", {"outcome": "adopted"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "blocked"


def test_a_second_position_of_the_same_participant_is_a_400(kp_record, editor):
    response = editor.post(
        "/api/v1/positions/",
        {
            "decision": "2022-kasane-ukraine-item",
            "participant": "RU",
            "stance": "support",
            "sources": SOURCES,
        },
        format="json",
    )
    assert_error(response, 400, "invalid", ["non_field_errors"])


def test_deleting_what_others_rest_on_is_a_409_and_changes_nothing(kp_record, editor):
    assert_error(editor.delete("/api/v1/participants/RU/"), 409, "conflict")
    assert_error(editor.delete("/api/v1/meetings/2022-intersessional-kasane/"), 409, "conflict")
    assert Participant.objects.filter(code="RU").exists()


def test_a_write_that_fails_halfway_leaves_nothing_behind(kp_record, editor):
    """The row is saved before its many-to-many links; if setting them fails, the row goes."""
    before = Proposal.objects.count()

    def fail(**kwargs):
        if kwargs["action"] == "post_add":
            raise RuntimeError("the database went away")

    m2m_changed.connect(fail, sender=Proposal.sponsors.through)
    try:
        editor.raise_request_exception = False
        response = editor.post("/api/v1/proposals/", RESOURCES[9].valid, format="json")
    finally:
        m2m_changed.disconnect(fail, sender=Proposal.sponsors.through)
    assert response.status_code == 500
    assert Proposal.objects.count() == before


def test_participant_codes_are_looked_up_whatever_the_case(kp_record, anon):
    assert anon.get("/api/v1/participants/ru/").json()["name"] == "Russian Federation"


def test_decisions_are_found_by_slug_or_numeric_id(kp_record, anon):
    by_slug = anon.get("/api/v1/decisions/2022-kasane-ukraine-item/").json()
    assert anon.get(f"/api/v1/decisions/{by_slug['id']}/").json() == by_slug


def test_a_write_from_a_stale_revision_is_refused_with_409(kp_record, editor, anon):
    url = "/api/v1/meetings/2022-intersessional-kasane/"
    revision = anon.get(url).json()["revision"]
    first = editor.patch(url, {"summary": "First.", "revision": revision}, format="json")
    assert first.status_code == 200
    assert first.json()["revision"] == revision + 1
    stale = editor.patch(url, {"summary": "Second.", "revision": revision}, format="json")
    assert_error(stale, 409, "conflict")
    assert anon.get(url).json()["summary"] == "First."
    # Without a revision the write is not checked, as before.
    assert editor.patch(url, {"summary": "Third."}, format="json").status_code == 200


def test_a_source_that_records_cite_cannot_be_deleted(kp_record, editor):
    assert_error(editor.delete("/api/v1/sources/reuters-2022-06-16/"), 409, "conflict")
    assert Source.objects.filter(key="reuters-2022-06-16").exists()


def test_text_is_not_accepted_as_a_number_nor_a_number_as_text(kp_record, editor):
    response = editor.post(
        "/api/v1/sources/",
        {"key": "typed", "publisher": 0, "title": "T", "url": "https://e.org/"},
        format="json",
    )
    assert_error(response, 400, "invalid", ["publisher"])
    response = editor.post(
        "/api/v1/chairs/",
        {"year": "2030", "participant": "ZA", "sources": SOURCES},
        format="json",
    )
    assert_error(response, 400, "invalid", ["year"])
    response = editor.post(
        "/api/v1/positions/",
        {
            "decision": "2024-unga-resolution",
            "participant": "",
            "stance": "support",
            "sources": SOURCES,
        },
        format="json",
    )
    assert_error(response, 400, "invalid", ["participant"])
