"""The pages of a record to test: one URL per kind of page, each detail page showing the
record's biggest instance of its kind (the one with most rows behind it), so that query counts
are measured where they would grow if a view queried per row."""

from django.db.models import Case, Count, Q, When

from meetings.models import Meeting
from participants.models import Observer, Participant, Person
from proposals import synthetic
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import Source


def biggest(queryset, *counted):
    """The row with the most related rows along `counted`, ties broken by pk."""
    annotations = {f"n{i}": Count(path, distinct=True) for i, path in enumerate(counted)}
    order = [f"-n{i}" for i in range(len(counted))]
    return queryset.annotate(**annotations).order_by(*order, "pk").first()


def page_urls() -> dict[str, str]:
    meeting = biggest(Meeting.objects.all(), "agenda_items", "decisions")
    participant = biggest(Participant.objects.all(), "positions__decision", "letters")
    vetoer = (
        Participant.objects.annotate(
            n=Count("positions", filter=Q(positions__stance=Position.Stance.OBJECTION))
        )
        .order_by("-n", "pk")
        .first()
    )
    proposal = biggest(Proposal.objects.all(), "letters", "decisions__positions")
    decision = biggest(Decision.objects.all(), "positions", "accounts")
    letter = biggest(Letter.objects.all(), "quotes", "positions", "proposals")
    # The synthetic record's one source supports thousands of facts; else the first source.
    source = Source.objects.order_by(
        Case(When(key=synthetic.SOURCE_KEY, then=0), default=1), "pk"
    ).first()
    observer = biggest(Observer.objects.all(), "positions", "letters")
    person = biggest(Person.objects.all(), "roles", "letters_signed", "quotes")
    year = meeting.start_date.year
    return {
        "home": "/",
        "search": "/search/?q=Russia+diamonds",
        "meeting_list": "/meetings/",
        "meeting_list_filtered": f"/meetings/?year={year}&kind={meeting.kind}",
        "meeting_detail": f"/meetings/{meeting.slug}/",
        "participant_list": "/participants/",
        "participant_detail": f"/participants/{participant.code}/",
        "participant_vetoes": f"/participants/{vetoer.code}/",
        "observer_detail": f"/observers/{observer.code}/",
        "person_detail": f"/people/{person.slug}/",
        "proposal_list": "/proposals/",
        "proposal_detail": f"/proposals/{proposal.slug}/",
        "decision_list": "/decisions/",
        "decision_list_differs": "/decisions/?differs_under=two_thirds&counting=recorded",
        "decision_detail": f"/decisions/{decision.slug}/",
        "letter_list": "/letters/",
        "letter_search": f"/letters/?q=diamonds&year={year}",
        "letter_detail": f"/letters/{letter.slug}/",
        "timeline": "/timeline/",
        "charts": "/charts/",
        "chart_objections": "/charts/objections/",
        "chart_co_objections": "/charts/co-objections/",
        "chart_removed_items": "/charts/removed-items/",
        "source_list": "/sources/",
        "source_detail": f"/sources/{source.key}/",
    }
