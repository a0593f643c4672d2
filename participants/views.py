"""Public pages of participants, observers and people.

A participant's page shows its status over time, the chairs it held, its letters, its positions
and its veto record (decisions it blocked or joined in blocking) with its co-objectors. Long
lists show the newest LIST_LIMIT rows and link to the letters archive or the API for the rest,
so the page costs the same number of queries on any size of record.
"""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from meetings.models import Meeting
from participants import selectors
from participants.models import Participant
from proposals import selectors as proposal_selectors
from proposals.consensus import statistics
from proposals.models import Letter, Position
from sources.pages import Citations, api, cached_page, listed

LIST_LIMIT = 50


def _get(queryset, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} with that identifier.") from None


@cached_page
def participant_list(request):
    # Queries: objections and vetoes per participant (one aggregate), participants, their
    # statuses in force today.
    participants = selectors.participant_list(timezone.localdate())
    return render(
        request,
        "participants/participant_list.html",
        {
            "section": "participants",
            "participants": participants,
            "api_links": [
                api("Participants", "participants/"),
                api("Veto records", "statistics/veto-records/"),
            ],
        },
    )


def _limited(queryset, limit: int = LIST_LIMIT) -> tuple[list, int]:
    """The first `limit` rows and the total, counting only when there are more."""
    rows = list(queryset[: limit + 1])
    total = len(rows) if len(rows) <= limit else queryset.count()
    return rows[:limit], total


@cached_page
def participant_detail(request, code: str):
    # Queries: the participant and its sources, statuses and their sources, chairmanships
    # (body and person joined) and their sources, people's roles (person joined) and their
    # sources; whether it is in good standing today; meetings it hosted or chaired and their
    # sources; its totals of objections and vetoes; letters and their sources (plus a count
    # when over the limit); positions (decision, meeting and letter joined) and their sources
    # (plus a count); the veto record and its sources (plus a count); the co-objectors on
    # those decisions; its co-objectors overall.
    if code != code.upper():
        return redirect("participants:detail", code=code.upper(), permanent=True)
    participant = _get(selectors.participant_detail(), code=code)
    today = timezone.localdate()
    citations = Citations()
    citations.cite(participant)
    statuses = list(participant.statuses.all())
    chairs = list(participant.chairmanships.all())
    roles = list(participant.roles.all())
    citations.cite_all(statuses)
    citations.cite_all(chairs)
    citations.cite_all(roles)

    meetings = list(
        Meeting.objects.filter(Q(host=participant) | Q(chair=participant))
        .prefetch_related("sources")
        .order_by("-start_date")[:LIST_LIMIT]
    )
    citations.cite_all(meetings)

    letters, letters_total = _limited(
        participant.letters.prefetch_related("sources").order_by("-date", "-pk")
    )
    citations.cite_all(letters)
    stated = proposal_selectors.positions_of(participant)
    positions = proposal_selectors.newest_positions(stated, LIST_LIMIT + 1)
    positions_total = len(positions) if len(positions) <= LIST_LIMIT else stated.count()
    positions = positions[:LIST_LIMIT]
    citations.cite_all(positions)
    vetoes, vetoes_total = statistics.newest_vetoes(participant, LIST_LIMIT)
    citations.cite_all(vetoes)
    others = proposal_selectors.co_objectors_by_decision(
        [position.decision_id for position in vetoes], participant
    )
    for position in vetoes:
        position.co_objectors = others.get(position.decision_id, [])
    totals = selectors.objection_totals(participant)

    return render(
        request,
        "participants/participant_detail.html",
        {
            "section": "participants",
            "participant": participant,
            "in_good_standing": Participant.objects.in_good_standing_on(today)
            .filter(pk=participant.pk)
            .exists(),
            "today": today,
            "statuses": statuses,
            "chairs": chairs,
            "roles": roles,
            "meetings": meetings,
            "letters": letters,
            "letters_total": letters_total,
            "positions": positions,
            "positions_total": positions_total,
            "vetoes": vetoes,
            "vetoes_total": vetoes_total,
            "totals": totals,
            "co_objectors": statistics.co_objectors(participant)[:20],
            "limit": LIST_LIMIT,
            "citations": citations,
            "api_links": [
                api("This participant", f"participants/{participant.code}/"),
                api("Its objections", "objections/", participant=participant.code),
                api("Its veto record", f"statistics/veto-records/{participant.code}/"),
                api("Its letters", "letters/", author=participant.code),
            ],
        },
    )


@cached_page
def observer_detail(request, code: str):
    # Queries: the observer and its sources, people's roles (person joined) and their sources;
    # letters and their sources; proposals sponsored and their sources; agenda items proposed
    # (meeting joined) and their sources; positions (decision joined) and their sources.
    observer = _get(selectors.observer_detail(), code=code)
    citations = Citations()
    citations.cite(observer)
    roles = list(observer.roles.all())
    citations.cite_all(roles)
    # Each list's sources into a plain list (`listed`), and of a position's decision only what
    # the page shows: the observer of the synthetic record lists 200 rows.
    letters = list(
        observer.letters.prefetch_related(listed("sources")).order_by("-date", "-pk")[:50]
    )
    proposals = list(
        observer.proposals_sponsored.prefetch_related(listed("sources")).order_by("-pk")[:50]
    )
    items = list(
        observer.agenda_items_proposed.select_related("meeting")
        .prefetch_related(listed("sources"))
        .order_by("-meeting__start_date")[:50]
    )
    positions = list(
        Position.objects.filter(observer=observer)
        .select_related("decision")
        .only("stance", "decision__slug", "decision__title")
        .prefetch_related(listed("sources"))
        .order_by("-decision__date", "-pk")[:50]
    )
    for rows in (letters, proposals, items, positions):
        citations.cite_all(rows)
    return render(
        request,
        "participants/observer_detail.html",
        {
            "section": "participants",
            "observer": observer,
            "roles": roles,
            "letters": letters,
            "proposals": proposals,
            "items": items,
            "positions": positions,
            "citations": citations,
            "api_links": [api("This observer", f"observers/{observer.code}/")],
        },
    )


@cached_page
def person_detail(request, slug: str):
    # Queries: the person and their sources, roles (participant and observer joined) and their
    # sources, chairmanships (body and participant joined) and their sources; letters signed
    # and their sources; quotes (source and letter joined).
    person = _get(selectors.person_detail(), slug=slug)
    citations = Citations()
    citations.cite(person)
    roles = list(person.roles.all())
    chairs = list(person.chairmanships.all())
    citations.cite_all(roles)
    citations.cite_all(chairs)
    letters = list(
        Letter.objects.filter(signatory=person).prefetch_related("sources").order_by("-date")[:50]
    )
    citations.cite_all(letters)
    quotes = list(person.quotes.select_related("source", "letter").order_by("pk")[:50])
    for quote in quotes:
        citations.cite_source(quote, quote.source)
    return render(
        request,
        "participants/person_detail.html",
        {
            "section": "participants",
            "person": person,
            "roles": roles,
            "chairs": chairs,
            "letters": letters,
            "quotes": quotes,
            "citations": citations,
            "api_links": [api("This person", f"people/{person.slug}/")],
        },
    )
