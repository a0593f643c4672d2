"""The record in Popolo (http://www.popoloproject.com), for civic-data tools that read it.

- organizations: the Kimberley Process itself, every participant and observer, the working bodies;
- persons: the people on record;
- memberships: participants and observers in the KP, people's roles, chairmanships;
- events: meetings;
- motions: proposals, and decisions on agenda items or communiques (which have no proposal);
- vote_events: one per decision, with the positions as votes and the engine's counts.

Built from `.values()` rows with a fixed number of queries (one per kind of row and one per
kind of source link), whatever the size of the record. A decision's outcome is the engine's.
Dates: Popolo gives motions and vote events date-times, so a decision dated to the day gets
midnight UTC; a vaguer date is left out rather than invented.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Model, QuerySet

from meetings.models import Meeting
from participants.models import Chairmanship, Observer, Participant, Person, Role, WorkingBody
from proposals.models import Decision, Position, Proposal
from sources.models import DatePrecision

KP = "kimberley-process"
RESULTS = {
    Decision.Outcome.ADOPTED: "pass",
    Decision.Outcome.BLOCKED: "fail",
    Decision.Outcome.UNDETERMINED: "undetermined",
}
PROPOSAL_RESULTS = {
    Proposal.Status.ADOPTED: "pass",
    Proposal.Status.NOT_ADOPTED: "fail",
    Proposal.Status.WITHDRAWN: "withdrawn",
    Proposal.Status.PENDING: None,
}
OPTIONS = {
    Position.Stance.SUPPORT: "yes",
    Position.Stance.OBJECTION: "no",
    Position.Stance.ABSTENTION: "abstain",
    Position.Stance.NO_POSITION: "not voting",
}


def participant_id(code: str) -> str:
    return f"participant:{code}"


def observer_id(code: str) -> str:
    return f"observer:{code}"


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _date_time(value: datetime.date | None, precision: str) -> str | None:
    if value is None or precision != DatePrecision.DAY:
        return None
    return f"{value.isoformat()}T00:00:00Z"


def _links(model: type[Model], owners: QuerySet | None = None) -> dict[int, list[dict]]:
    """Each row's sources as Popolo links (sources without a URL are left out). One query."""
    through = model.sources.through
    owner = f"{model._meta.model_name}_id"
    rows = through.objects.exclude(source__url="")
    if owners is not None:
        rows = rows.filter(**{f"{owner}__in": owners.values("pk")})
    links: dict[int, list[dict]] = defaultdict(list)
    for owner_id, url, publisher, title in rows.order_by("source__published_on", "id").values_list(
        owner, "source__url", "source__publisher", "source__title"
    ):
        links[owner_id].append({"url": url, "note": f"{publisher}: {title}"})
    return links


def _organizations() -> list[dict]:
    organizations = [
        {
            "id": KP,
            "name": "Kimberley Process",
            "classification": "intergovernmental process",
            "description": "The Kimberley Process Certification Scheme for rough diamonds.",
        }
    ]
    links = _links(Participant)
    for row in Participant.objects.order_by("code").values("id", "code", "name", "kind", "note"):
        organizations.append(
            {
                "id": participant_id(row["code"]),
                "name": row["name"],
                "classification": row["kind"],
                "identifiers": [{"identifier": row["code"], "scheme": "ISO 3166-1 alpha-2"}],
                "description": row["note"] or None,
                "sources": links.get(row["id"], []),
            }
        )
    links = _links(Observer)
    for row in Observer.objects.order_by("code").values("id", "code", "name", "description"):
        organizations.append(
            {
                "id": observer_id(row["code"]),
                "name": row["name"],
                "classification": "observer",
                "identifiers": [{"identifier": row["code"], "scheme": "kp-observer"}],
                "description": row["description"] or None,
                "sources": links.get(row["id"], []),
            }
        )
    links = _links(WorkingBody)
    for row in WorkingBody.objects.order_by("slug").values("id", "slug", "name", "kind"):
        organizations.append(
            {
                "id": f"body:{row['slug']}",
                "name": row["name"],
                "classification": row["kind"],
                "parent_id": KP,
                "sources": links.get(row["id"], []),
            }
        )
    return organizations


def _persons() -> list[dict]:
    links = _links(Person)
    return [
        {
            "id": f"person:{row['slug']}",
            "name": row["name"],
            "identifiers": [{"identifier": row["slug"], "scheme": "kp-tracker"}],
            "sources": links.get(row["id"], []),
        }
        for row in Person.objects.order_by("slug").values("id", "slug", "name")
    ]


def _memberships() -> list[dict]:
    memberships = []
    for code, joined_on in Participant.objects.order_by("code").values_list("code", "joined_on"):
        memberships.append(
            {
                "id": f"member:{code}",
                "member": {"@type": "Organization", "id": participant_id(code)},
                "organization_id": KP,
                "role": "participant",
                "start_date": _date(joined_on),
            }
        )
    for (code,) in Observer.objects.order_by("code").values_list("code"):
        memberships.append(
            {
                "id": f"observer:{code}@{KP}",
                "member": {"@type": "Organization", "id": observer_id(code)},
                "organization_id": KP,
                "role": "observer",
            }
        )
    links = _links(Role)
    for row in Role.objects.order_by("id").values(
        "id",
        "person__slug",
        "title",
        "participant__code",
        "observer__code",
        "organisation",
        "start_date",
        "end_date",
    ):
        organization = (
            participant_id(row["participant__code"])
            if row["participant__code"]
            else observer_id(row["observer__code"])
            if row["observer__code"]
            else None
        )
        memberships.append(
            {
                "id": f"role:{row['id']}",
                "person_id": f"person:{row['person__slug']}",
                "organization_id": organization,
                "role": row["title"],
                "label": row["organisation"] or None,
                "start_date": _date(row["start_date"]),
                "end_date": _date(row["end_date"]),
                "sources": links.get(row["id"], []),
            }
        )
    links = _links(Chairmanship)
    for row in Chairmanship.objects.order_by("year", "id").values(
        "id", "year", "body__slug", "participant__code", "person__slug", "vice"
    ):
        chaired = participant_id(row["participant__code"])
        membership = {
            "id": f"chair:{row['id']}",
            "organization_id": f"body:{row['body__slug']}" if row["body__slug"] else KP,
            "role": "Vice-chair" if row["vice"] else "Chair",
            "start_date": str(row["year"]),
            "end_date": str(row["year"]),
            "sources": links.get(row["id"], []),
        }
        if row["person__slug"]:
            membership["person_id"] = f"person:{row['person__slug']}"
            membership["on_behalf_of_id"] = chaired
        else:
            membership["member"] = {"@type": "Organization", "id": chaired}
        memberships.append(membership)
    return memberships


def _events(meetings: QuerySet[Meeting]) -> list[dict]:
    links = _links(Meeting, meetings)
    events = []
    for meeting in meetings.only(
        "id", "slug", "kind", "title", "city", "country", "start_date", "end_date", "summary"
    ).order_by("start_date", "id"):
        place = ", ".join(part for part in (meeting.city, meeting.country) if part)
        events.append(
            {
                "id": f"meeting:{meeting.slug}",
                "name": meeting.title or str(meeting),
                "description": meeting.summary or None,
                "classification": meeting.kind,
                "start_date": _date(meeting.start_date),
                "end_date": _date(meeting.end_date),
                "location": place or None,
                # A meeting of another body (the UN General Assembly) is not the KP's.
                "organization_id": None if meeting.kind == Meeting.Kind.EXTERNAL else KP,
                "identifiers": [{"identifier": meeting.slug, "scheme": "kp-tracker"}],
                "sources": links.get(meeting.id, []),
            }
        )
    return events


def _motions_and_votes(meetings: QuerySet[Meeting], scoped: bool) -> tuple[list[dict], list[dict]]:
    decisions = Decision.objects.all()
    proposals = Proposal.objects.all()
    if scoped:
        decisions = decisions.filter(meeting__in=meetings)
        proposals = proposals.filter(meeting__in=meetings)

    motions = []
    links = _links(Proposal, proposals if scoped else None)
    for row in proposals.order_by("slug").values(
        "id", "slug", "title", "summary", "kind", "status", "meeting__slug"
    ):
        motions.append(
            {
                "id": f"proposal:{row['slug']}",
                "organization_id": KP,
                "legislative_session_id": (
                    f"meeting:{row['meeting__slug']}" if row["meeting__slug"] else None
                ),
                "identifier": row["slug"],
                "text": row["title"] + (f"\n\n{row['summary']}" if row["summary"] else ""),
                "classification": row["kind"],
                "result": PROPOSAL_RESULTS.get(row["status"]),
                "sources": links.get(row["id"], []),
            }
        )

    votes: dict[int, list[dict]] = defaultdict(list)
    # "No position" rows say nothing a voter did; they are counted as "not voting" below.
    for decision_id, code, observer, stance in (
        Position.objects.filter(decision__in=decisions)
        .exclude(stance=Position.Stance.NO_POSITION)
        .order_by("decision_id", "participant__code", "observer__code")
        .values_list("decision_id", "participant__code", "observer__code", "stance")
    ):
        votes[decision_id].append(
            {
                "voter_id": participant_id(code) if code else observer_id(observer),
                "option": OPTIONS[stance],
                "role": "participant" if code else "observer",
                # Observers speak but their objections never count.
                "weight": 1 if code else 0,
            }
        )

    vote_events = []
    links = _links(Decision, decisions if scoped else None)
    for row in decisions.order_by("effective_date", "id").values(
        "id",
        "slug",
        "title",
        "subject_kind",
        "method",
        "date",
        "date_precision",
        "meeting__slug",
        "proposal__slug",
        "outcome",
        "explanation",
    ):
        session = f"meeting:{row['meeting__slug']}" if row["meeting__slug"] else None
        when = _date_time(row["date"], row["date_precision"])
        if row["proposal__slug"]:
            motion_id = f"proposal:{row['proposal__slug']}"
        else:
            motion_id = f"motion:{row['slug']}"
            motions.append(
                {
                    "id": motion_id,
                    "organization_id": KP,
                    "legislative_session_id": session,
                    "identifier": row["slug"],
                    "text": row["title"],
                    "classification": row["subject_kind"],
                    "date": when,
                    "requirement": "consensus",
                    "result": RESULTS.get(row["outcome"]),
                    "sources": links.get(row["id"], []),
                }
            )
        explanation = row["explanation"] or {}
        for position in votes.get(row["id"], []):
            position["vote_event_id"] = f"vote:{row['slug']}"
        vote_events.append(
            {
                "id": f"vote:{row['slug']}",
                "identifier": row["slug"],
                "motion_id": motion_id,
                "organization_id": KP,
                "legislative_session_id": session,
                "classification": row["method"],
                "start_date": when,
                "result": RESULTS.get(row["outcome"]),
                "counts": [
                    {"option": "yes", "value": explanation.get("supports", 0)},
                    {"option": "no", "value": explanation.get("objections", 0)},
                    {"option": "abstain", "value": explanation.get("abstentions", 0)},
                    {"option": "not voting", "value": explanation.get("silent", 0)},
                ],
                "votes": votes.get(row["id"], []),
                "sources": links.get(row["id"], []),
            }
        )
    return motions, vote_events


def export(*, year: int | None = None, meeting: str | None = None) -> dict:
    """The whole record in Popolo; `year` or `meeting` narrow events, motions and vote events
    (organizations, persons and memberships are always whole)."""
    meetings = Meeting.objects.all()
    if year:
        meetings = meetings.filter(start_date__year=year)
    if meeting:
        meetings = meetings.filter(slug=meeting)
    scoped = bool(year or meeting)
    motions, vote_events = _motions_and_votes(meetings, scoped)
    return {
        "organizations": _organizations(),
        "persons": _persons(),
        "memberships": _memberships(),
        "events": _events(meetings),
        "motions": motions,
        "vote_events": vote_events,
    }
