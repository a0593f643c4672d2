"""Public pages of letters, proposals and decisions, and the pages over the whole record: home,
search, timeline and charts.

Views fetch through the selectors (which own their joins), cite the sources of what they show,
and hand plain lists to templates, so rendering runs no query. Outcomes are the engine's stored
ones; no view decides anything.
"""

from __future__ import annotations

import csv
import re
from itertools import groupby

from django.db.models import Q, prefetch_related_objects
from django.http import Http404, HttpResponse
from django.shortcuts import render

from meetings.models import Meeting
from meetings.selectors import latest_meetings, with_counts
from participants.models import Observer, Participant
from proposals import charts, search, selectors
from proposals.consensus import rules, statistics
from proposals.forms import (
    DecisionFilterForm,
    LetterFilterForm,
    ProposalFilterForm,
    SearchForm,
)
from proposals.models import Decision, Letter, Proposal
from sources.models import Source
from sources.pages import Citations, api, cached_page, paginate

SEARCH_LIMIT = 20


def _get(queryset, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} with that identifier.") from None


# Home and search ------------------------------------------------------------------------------


@cached_page
def home(request):
    # Queries: latest meetings (host and chair joined) and their sources; the ids of the recent
    # objections, then those (decision, meeting, participant, letter joined) and their sources;
    # removed items (meeting and decision joined), their sources and the objectors of the
    # removing decisions; the three aggregate queries of the year statistics.
    citations = Citations()
    meetings = latest_meetings(5)
    citations.cite_all(meetings)
    objections = statistics.newest_objections(10)
    prefetch_related_objects(objections, "sources")
    citations.cite_all(objections)
    removed = selectors.removed_items(10)
    citations.cite_all(removed)
    objectors = selectors.objectors_of([item.removed_by_id for item in removed])
    for item in removed:
        item.objectors = objectors.get(item.removed_by_id, [])
    return render(
        request,
        "proposals/home.html",
        {
            "section": "home",
            "meetings": meetings,
            "objections": objections,
            "removed": removed,
            "years": statistics.year_statistics(),
            "search_form": SearchForm(),
            "citations": citations,
            "api_links": [
                api("Meetings", "meetings/"),
                api("Objections", "objections/"),
                api("The record year by year", "statistics/years/"),
            ],
        },
    )


def _words_q(fields: list[str], words: list[str]) -> Q:
    """Every word in at least one of the fields."""
    condition = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


@cached_page
def site_search(request):
    # Queries, with a query string: participants, observers, meetings, proposals, decisions,
    # sources (each one query, icontains on their names and summaries), letters (one full-text
    # query on PostgreSQL) and their authors and observer authors. None without one.
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    words = search.terms(query)
    results = {}
    if words:
        results = {
            "participants": list(
                Participant.objects.filter(
                    _words_q(["name"], words) | Q(code__iexact=query)
                ).order_by("name")[:SEARCH_LIMIT]
            ),
            "observers": list(
                Observer.objects.filter(_words_q(["name", "description"], words))[:SEARCH_LIMIT]
            ),
            "meetings": list(
                Meeting.objects.filter(
                    _words_q(["title", "city", "country", "summary", "slug"], words)
                ).order_by("-start_date")[:SEARCH_LIMIT]
            ),
            "proposals": list(
                Proposal.objects.filter(_words_q(["title", "summary"], words)).order_by("slug")[
                    :SEARCH_LIMIT
                ]
            ),
            "decisions": list(
                Decision.objects.filter(_words_q(["title", "summary"], words)).order_by(
                    "-date", "-pk"
                )[:SEARCH_LIMIT]
            ),
            "sources": list(
                Source.objects.filter(_words_q(["title", "publisher"], words))[:SEARCH_LIMIT]
            ),
        }
        letters = search.search_letters(
            Letter.objects.prefetch_related("authors", "observer_authors"), query
        )
        letters = list(letters[:SEARCH_LIMIT])
        search.decorate(letters, query)
        results["letters"] = letters
    return render(
        request,
        "proposals/search.html",
        {
            "section": "search",
            "form": form,
            "query": query,
            "site_query": query,
            "results": results,
            "found": sum(len(rows) for rows in results.values()),
            "limit": SEARCH_LIMIT,
            "api_links": [api("Letters matching" if query else "Letters", "letters/", q=query)],
        },
    )


# Letters --------------------------------------------------------------------------------------


@cached_page
def letter_list(request):
    # Queries: the filter choices (participant authors, observer authors, years, proposals), the
    # count, the page of letters (signatory joined; ranked and highlighted on PostgreSQL when
    # searching), and their sources, authors, observer authors and proposals.
    form = LetterFilterForm(request.GET or None, choices=selectors.letter_filter_choices())
    filters = form.filters() if request.GET else {}
    query = filters.pop("q", "")
    letters = selectors.filter_letters(selectors.letter_list(), **filters)
    if query:
        letters = search.search_letters(letters, query)
    page_obj = paginate(request, letters)
    page = list(page_obj)
    if query:
        search.decorate(page, query)
    citations = Citations()
    citations.cite_all(page)
    return render(
        request,
        "proposals/letter_list.html",
        {
            "section": "letters",
            "form": form,
            "query": query,
            "filtered": bool(query or filters),
            "full_text": search.full_text(),
            "page_obj": page_obj,
            "letters": page,
            "citations": citations,
            "api_links": [
                api("These letters", "letters/", q=query, **_letter_api_filters(filters))
            ],
        },
    )


@cached_page
def letter_detail(request, slug: str):
    # Queries: the letter (signatory joined), its sources, authors, observer authors, quotes
    # (source and speaker joined), proposals (meeting joined) and their sources, and the
    # positions it states (decision and holder joined) and their sources.
    letter = _get(selectors.letter_detail(), slug=slug)
    citations = Citations()
    citations.cite(letter)
    for quote in letter.quotes.all():
        citations.cite_source(quote, quote.source)
    citations.cite_all(letter.proposals.all())
    citations.cite_all(letter.positions.all())
    return render(
        request,
        "proposals/letter_detail.html",
        {
            "section": "letters",
            "letter": letter,
            "citations": citations,
            "api_links": [api("This letter", f"letters/{letter.slug}/")],
        },
    )


def _letter_api_filters(filters: dict) -> dict:
    """The archive's filters in the API's terms: observers have a filter of their own."""
    query = {key: value for key, value in filters.items() if key != "author"}
    author = filters.get("author")
    if author:
        query["author" if re.fullmatch(r"[A-Z]{2}", author) else "observer"] = author
    return query


def _meeting_filter(request) -> Meeting | None:
    """The meeting a list is narrowed to (?meeting=<slug>, from a meeting's page), if any."""
    slug = request.GET.get("meeting", "")
    if not slug:
        return None
    return Meeting.objects.filter(slug=slug).first()


# Proposals and decisions ----------------------------------------------------------------------


@cached_page
def proposal_list(request):
    # Queries: the count, the page of proposals (meeting joined), and their sources, sponsors
    # and observer sponsors.
    form = ProposalFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    proposals = selectors.proposal_list().filter(**filters)
    meeting = _meeting_filter(request)
    if meeting:
        proposals = proposals.filter(meeting=meeting)
    page_obj = paginate(request, proposals)
    proposals = list(page_obj)
    citations = Citations()
    citations.cite_all(proposals)
    return render(
        request,
        "proposals/proposal_list.html",
        {
            "section": "proposals",
            "form": form,
            "meeting": meeting,
            "filtered": bool(filters or meeting),
            "page_obj": page_obj,
            "proposals": proposals,
            "citations": citations,
            "api_links": [
                api("These proposals", "proposals/", meeting=meeting and meeting.slug, **filters)
            ],
        },
    )


def _decision_view(decision: Decision, citations: Citations) -> None:
    """Arrange one decision for display: positions grouped by stance, the stored outcome under
    every rule and counting, and the engine's stored explanation."""
    positions = list(decision.positions.all())
    citations.cite(decision)
    citations.cite_all(positions)
    decision.groups = selectors.group_positions(positions)
    decision.rule_rows = selectors.outcome_table(decision)
    decision.counted = decision.explanation or {}


@cached_page
def proposal_detail(request, slug: str):
    # Queries: the proposal (meeting and agenda item joined), its sources, sponsors, observer
    # sponsors, letters (signatory joined) and their sources, authors, observer authors and
    # proposals; its decisions (meeting joined), their sources, parties concerned, positions
    # (holders and letter joined) and the positions' sources.
    proposal = _get(selectors.proposal_detail(), slug=slug)
    citations = Citations()
    citations.cite(proposal)
    letters = list(proposal.letters.all())
    citations.cite_all(letters)
    decisions = list(proposal.decisions.all())
    for decision in decisions:
        _decision_view(decision, citations)
    return render(
        request,
        "proposals/proposal_detail.html",
        {
            "section": "proposals",
            "proposal": proposal,
            "letters": letters,
            "decisions": decisions,
            "countings": selectors.COUNTING_LABELS,
            "citations": citations,
            "api_links": [api("This proposal", f"proposals/{proposal.slug}/")]
            + [api(f"Decision: {d.title}", f"decisions/{d.pk}/") for d in decisions],
        },
    )


@cached_page
def decision_list(request):
    # Queries: the count and the page of decisions (meeting, item and proposal joined) and their
    # sources; one aggregate query per rule for the summary of counterfactuals.
    form = DecisionFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    counting = filters.get("counting", rules.SILENCE_AS_CONSENT)
    if filters.get("differs_under"):
        decisions = statistics.differing_decisions(
            filters["differs_under"], counting, outcome=filters.get("outcome")
        ).prefetch_related("sources")
    else:
        decisions = selectors.decision_list()
        if filters.get("outcome"):
            decisions = decisions.filter(outcome=filters["outcome"])
    meeting = _meeting_filter(request)
    if meeting:
        decisions = decisions.filter(meeting=meeting)
    page_obj = paginate(request, decisions)
    page = list(page_obj)
    citations = Citations()
    citations.cite_all(page)
    return render(
        request,
        "proposals/decision_list.html",
        {
            "section": "decisions",
            "form": form,
            "filtered": bool(set(filters) - {"counting"}) or bool(meeting),
            "meeting": meeting,
            "differs_under": filters.get("differs_under"),
            "counting": counting,
            "page_obj": page_obj,
            "decisions": page,
            "summary": statistics.counterfactual_summary(counting),
            "counting_label": selectors.COUNTING_LABELS[counting],
            "citations": citations,
            "api_links": [
                api(
                    "These decisions",
                    "decisions/",
                    meeting=meeting and meeting.slug,
                    outcome=filters.get("outcome"),
                    # The API's filter compares with silence counted as consent only.
                    differs_under=filters.get("differs_under")
                    if counting == rules.SILENCE_AS_CONSENT
                    else None,
                ),
                api("How each rule would have decided", "statistics/counterfactuals/"),
            ],
        },
    )


@cached_page
def decision_detail(request, slug: str):
    # Queries: the decision (meeting, agenda item and its meeting, proposal joined), its sources,
    # parties concerned, positions (holders and letter joined) and their sources, reported
    # accounts, their sources and named objectors, agenda items it removed (meeting joined);
    # then the proposals behind it (its own, or those on its agenda item), their sources,
    # sponsors, observer sponsors, letters and the letters' sources, authors, observer authors
    # and proposals.
    decision = _get(selectors.decision_detail(), slug=slug)
    citations = Citations()
    _decision_view(decision, citations)
    accounts = list(decision.accounts.all())
    citations.cite_all(accounts)
    if decision.proposal_id:
        proposals = list(selectors.proposals_with_letters().filter(pk=decision.proposal_id))
    elif decision.agenda_item_id:
        proposals = list(
            selectors.proposals_with_letters().filter(agenda_item=decision.agenda_item_id)
        )
    else:
        proposals = []
    citations.cite_all(proposals)
    letters = selectors.decision_letters(decision, proposals)
    return render(
        request,
        "proposals/decision_detail.html",
        {
            "section": "decisions",
            "decision": decision,
            "accounts": accounts,
            "proposals": proposals,
            "letters": letters,
            "items_removed": list(decision.items_removed.all()),
            "countings": selectors.COUNTING_LABELS,
            "citations": citations,
            "api_links": [api("This decision", f"decisions/{decision.pk}/")],
        },
    )


# Timeline -------------------------------------------------------------------------------------


@cached_page
def timeline(request):
    # Queries: the years, the count and the page of the UNION of dated events, one query per
    # kind of event on the page (with its joins) and one for those objects' sources (four at
    # most), the count of undated letters.
    years = selectors.timeline_years()
    year = request.GET.get("year")
    year = int(year) if year and year.isdigit() and int(year) in years else None
    page_obj = paginate(request, selectors.timeline_events(year=year), per_page=100)
    events = selectors.timeline_objects(list(page_obj))
    citations = Citations()
    for event in events:
        citations.cite(event["object"])
    by_year = [
        (event_year, list(rows))
        for event_year, rows in groupby(events, key=lambda event: event["day"].year)
    ]
    return render(
        request,
        "proposals/timeline.html",
        {
            "section": "timeline",
            "years": years,
            "year": year,
            "page_obj": page_obj,
            "by_year": by_year,
            "undated_letters": selectors.undated_letters_count(),
            "citations": citations,
            "api_links": [
                api("Meetings", "meetings/", year=year),
                api("Letters", "letters/", year=year),
                api("Decisions", "decisions/", year=year),
            ],
        },
    )


# Charts ---------------------------------------------------------------------------------------


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _names() -> dict[str, str]:
    return dict(Participant.objects.values_list("code", "name"))


@cached_page
def charts_index(request):
    # Queries: none but the page itself; the charts have their own pages.
    return render(
        request,
        "proposals/charts.html",
        {
            "section": "charts",
            "api_links": [
                api("Objections", "objections/"),
                api("Co-objection matrix", "statistics/co-objection-matrix/"),
                api("Per meeting", "statistics/meetings/"),
            ],
        },
    )


@cached_page
def chart_objections(request):
    # Queries: the participants' names, the objections per participant and year, their codes.
    pivot = charts.objections_pivot(statistics.objections_per_participant_year(), _names())
    return render(
        request,
        "proposals/chart_objections.html",
        {
            "section": "charts",
            "pivot": pivot,
            "svg": charts.objections_chart(pivot),
            "api_links": [api("Objections", "objections/")],
        },
    )


@cached_page
def chart_objections_csv(request):
    rows = statistics.objections_per_participant_year()
    return _csv(
        "objections-per-participant-year.csv",
        ["participant", "year", "objections"],
        ((row["participant__code"], row["year"], row["objections"]) for row in rows),
    )


def _year(request) -> int | None:
    year = request.GET.get("year", "")
    return int(year) if year.isdigit() and 1990 < int(year) < 2200 else None


@cached_page
def chart_co_objections(request):
    # Queries: the participants' names, the co-objection pairs and their codes.
    year = _year(request)
    pairs = statistics.co_objection_pairs(year=year)
    matrix = charts.co_objection_matrix(pairs, _names())
    return render(
        request,
        "proposals/chart_co_objections.html",
        {
            "section": "charts",
            "year": year,
            "matrix": matrix,
            "svg": charts.co_objection_chart(matrix),
            "blocs": statistics.blocs(year=year, pairs=pairs),
            "api_links": [
                api("Co-objection pairs", "statistics/co-objections/", year=year),
                api("Co-objection matrix", "statistics/co-objection-matrix/", year=year),
                api("Blocs", "statistics/blocs/", year=year),
            ],
        },
    )


@cached_page
def chart_co_objections_csv(request):
    year = _year(request)
    rows = statistics.co_objection_pairs(year=year)
    return _csv(
        "co-objections.csv",
        ["participant_a", "participant_b", "decisions_objected_together"],
        ((row["a"], row["b"], row["together"]) for row in rows),
    )


REMOVED_CHART_LIMIT = 40


@cached_page
def chart_removed_items(request):
    # Queries: the years (meetings, letters); the latest meetings; items removed, and decisions
    # and decisions blocked, for those meetings (two grouped queries).
    year = _year(request)
    meetings = Meeting.objects.order_by("-start_date", "-pk")
    if year:
        meetings = meetings.filter(start_date__year=year)
    meetings = with_counts(list(meetings[:REMOVED_CHART_LIMIT]))[::-1]
    return render(
        request,
        "proposals/chart_removed_items.html",
        {
            "section": "charts",
            "year": year,
            "years": selectors.timeline_years(),
            "meetings": meetings,
            "limit": REMOVED_CHART_LIMIT,
            "svg": charts.removed_items_chart(meetings),
            "api_links": [api("Per meeting", "statistics/meetings/", year=year)],
        },
    )


@cached_page
def chart_removed_items_csv(request):
    meetings = with_counts(list(Meeting.objects.order_by("-start_date", "-pk")))
    return _csv(
        "items-removed-per-meeting.csv",
        ["meeting", "start_date", "kind", "items_removed", "decisions", "decisions_blocked"],
        (
            (m.slug, m.start_date, m.kind, m.items_removed, m.decisions_total, m.decisions_blocked)
            for m in meetings
        ),
    )
