"""Public pages of the sources: the list, and each source with every fact it supports."""

from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from sources import selectors
from sources.pages import api, cached_page, paginate


def fact_link(fact) -> tuple[str, str | None]:
    """A fact's label and the page that shows it (None where no page does)."""
    label = fact._meta.label_lower
    if label == "participants.participant":
        return str(fact), reverse("participants:detail", args=[fact.code])
    if label == "participants.participantstatus":
        return (
            f"{fact.participant.name}: {fact.get_status_display()}",
            reverse("participants:detail", args=[fact.participant.code]),
        )
    if label == "participants.observer":
        return str(fact), reverse("participants:observer", args=[fact.code])
    if label == "participants.person":
        return str(fact), reverse("participants:person", args=[fact.slug])
    if label == "participants.role":
        holder = fact.participant or fact.observer
        where = f" ({holder})" if holder else ""
        return (
            f"{fact.person.name}, {fact.title}{where}",
            reverse("participants:person", args=[fact.person.slug]),
        )
    if label == "participants.chairmanship":
        return str(fact), reverse("participants:detail", args=[fact.participant.code])
    if label == "meetings.meeting":
        return str(fact), reverse("meetings:detail", args=[fact.slug])
    if label == "meetings.agendaversion":
        url = reverse("meetings:detail", args=[fact.meeting.slug])
        return f"{fact.meeting}: {fact}", f"{url}#version-{fact.number}"
    if label == "meetings.agendaitem":
        url = reverse("meetings:detail", args=[fact.meeting.slug])
        return f"{fact.meeting}: {fact.title}", f"{url}#item-{fact.pk}"
    if label == "meetings.session":
        url = reverse("meetings:detail", args=[fact.meeting.slug])
        return f"{fact.meeting}: {fact.title}", f"{url}#sessions"
    if label == "proposals.letter":
        return str(fact), reverse("proposals:letter_detail", args=[fact.slug])
    if label == "proposals.proposal":
        return str(fact), reverse("proposals:proposal_detail", args=[fact.slug])
    if label == "proposals.decision":
        return str(fact), reverse("proposals:decision_detail", args=[fact.slug])
    if label == "proposals.position":
        holder = fact.participant.name if fact.participant else fact.observer.name
        url = reverse("proposals:decision_detail", args=[fact.decision.slug])
        return (
            f"{holder}: {fact.get_stance_display().lower()} on “{fact.decision.title}”",
            f"{url}#positions",
        )
    if label == "proposals.reportedaccount":
        url = reverse("proposals:decision_detail", args=[fact.decision.slug])
        return f"An account of “{fact.decision.title}”", f"{url}#accounts"
    if label == "proposals.quote":
        if fact.letter_id:
            return str(fact), reverse("proposals:letter_detail", args=[fact.letter.slug])
        return str(fact), None
    return str(fact), None


@cached_page
def source_list(request):
    # Queries: the count and the page of sources.
    page_obj = paginate(request, selectors.source_list(), per_page=50)
    return render(
        request,
        "sources/source_list.html",
        {
            "section": "sources",
            "page_obj": page_obj,
            "api_links": [api("All sources", "sources/")],
        },
    )


@cached_page
def source_detail(request, key: str):
    source = get_object_or_404(selectors.source_list(), key=key)
    groups = selectors.facts_supported(source)
    for group in groups:
        group.links = [fact_link(fact) for fact in group.facts]
    return render(
        request,
        "sources/source_detail.html",
        {
            "section": "sources",
            "source": source,
            "groups": groups,
            "api_links": [api("This source", f"sources/{source.key}/")],
        },
    )
