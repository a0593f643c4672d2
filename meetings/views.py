"""Public pages of meetings: the index filtered by year and kind, and each meeting's record."""

from django.http import Http404
from django.shortcuts import render

from meetings import selectors
from meetings.forms import MeetingFilterForm
from meetings.models import Meeting
from sources.pages import Citations, api, cached_page, paginate


@cached_page
def meeting_list(request):
    # Queries: the years for the filter, the count, the page of meetings (host and chair
    # joined), their sources, and the two per-page counts (items removed, decisions blocked).
    form = MeetingFilterForm(request.GET or None, years=selectors.meeting_years())
    filters = form.filters() if request.GET else {}
    page_obj = paginate(request, selectors.meeting_list(**filters))
    meetings = selectors.with_counts(list(page_obj))
    citations = Citations()
    citations.cite_all(meetings)
    return render(
        request,
        "meetings/meeting_list.html",
        {
            "section": "meetings",
            "form": form,
            "filtered": bool(filters),
            "page_obj": page_obj,
            "meetings": meetings,
            "citations": citations,
            "api_links": [api("These meetings", "meetings/", **filters)],
        },
    )


@cached_page
def meeting_detail(request, slug: str):
    # Queries, all fixed in number whatever the meeting's size: the meeting (host, chair and
    # chair person joined), its sources and attendees; agenda items, their sources, proposers and
    # observer proposers; decisions, their sources, positions and the positions' sources;
    # agenda versions, their sources and entries; proposals, their sources, sponsors, observer
    # sponsors and letters; sessions, their sources and boycotts.
    try:
        meeting = selectors.meeting_detail().get(slug=slug)
    except Meeting.DoesNotExist:
        raise Http404("No meeting with that identifier.") from None
    record = selectors.meeting_record(meeting)
    citations = Citations()
    citations.cite(meeting)
    for version in record.versions:
        citations.cite(version)
    citations.cite_all(record.items)
    for decision in record.decisions:
        citations.cite(decision)
        citations.cite_all(decision.shown_positions)
    citations.cite_all(record.proposals)
    citations.cite_all(record.sessions)
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "section": "meetings",
            "meeting": meeting,
            "record": record,
            "citations": citations,
            "api_links": [
                api("This meeting", f"meetings/{meeting.slug}/"),
                api("Its agenda and versions", f"meetings/{meeting.slug}/agenda/"),
                api("Objections at this meeting", "objections/", meeting=meeting.slug),
            ],
        },
    )
