"""factory_boy factories for every model of the record.

Every factory of a `Sourced` model gives its record one new Source unless `sources=[...]` is
passed, so factory-built facts look like real ones (no fact without a source).
"""

import datetime
import string

import factory
from factory.django import DjangoModelFactory

from meetings.models import AgendaEntry, AgendaItem, AgendaVersion, Attendance, Meeting, Session
from participants.models import (
    Chairmanship,
    Observer,
    Participant,
    ParticipantStatus,
    Person,
    Role,
    WorkingBody,
)
from proposals.models import Decision, Letter, Position, Proposal, Quote, ReportedAccount
from sources.models import Source


def two_letter_code(n: int) -> str:
    letters = string.ascii_uppercase
    return letters[n // 26 % 26] + letters[n % 26]


class SourceFactory(DjangoModelFactory):
    class Meta:
        model = Source

    key = factory.Sequence(lambda n: f"press-report-{n}")
    publisher = "Reuters"
    title = factory.Sequence(lambda n: f"Kimberley Process report {n}")
    published_on = datetime.date(2022, 6, 16)
    url = factory.LazyAttribute(lambda source: f"https://example.org/{source.key}")


class SourcedFactory(DjangoModelFactory):
    class Meta:
        abstract = True
        # The hook below saves the relation itself; the instance needs no second save.
        skip_postgeneration_save = True

    @factory.post_generation
    def sources(self, create, extracted, **kwargs):
        if create:
            self.sources.set(extracted if extracted is not None else [SourceFactory()])


# Participants


class ParticipantFactory(SourcedFactory):
    class Meta:
        model = Participant

    code = factory.Sequence(two_letter_code)
    name = factory.Sequence(lambda n: f"Participant {n}")


class ParticipantStatusFactory(SourcedFactory):
    class Meta:
        model = ParticipantStatus

    participant = factory.SubFactory(ParticipantFactory)
    status = ParticipantStatus.Status.SUSPENDED
    start_date = datetime.date(2022, 1, 1)


class ObserverFactory(SourcedFactory):
    class Meta:
        model = Observer

    code = factory.Sequence(lambda n: f"observer-{n}")
    name = factory.Sequence(lambda n: f"Observer {n}")


class PersonFactory(SourcedFactory):
    class Meta:
        model = Person

    slug = factory.Sequence(lambda n: f"person-{n}")
    name = factory.Sequence(lambda n: f"Person {n}")


class RoleFactory(SourcedFactory):
    class Meta:
        model = Role

    person = factory.SubFactory(PersonFactory)
    title = "KP delegate"
    participant = factory.SubFactory(ParticipantFactory)


class WorkingBodyFactory(SourcedFactory):
    class Meta:
        model = WorkingBody

    slug = factory.Sequence(lambda n: f"working-group-{n}")
    name = factory.Sequence(lambda n: f"Working Group {n}")
    kind = WorkingBody.Kind.WORKING_GROUP


class ChairmanshipFactory(SourcedFactory):
    class Meta:
        model = Chairmanship

    # A body of its own for each, so the one-chair-per-body-and-year rules never collide.
    year = factory.Sequence(lambda n: 2000 + n % 101)
    body = factory.SubFactory(WorkingBodyFactory)
    participant = factory.SubFactory(ParticipantFactory)
    person = factory.SubFactory(PersonFactory)


# Meetings


class MeetingFactory(SourcedFactory):
    class Meta:
        model = Meeting

    slug = factory.Sequence(lambda n: f"2022-intersessional-{n}")
    kind = Meeting.Kind.INTERSESSIONAL
    city = factory.Sequence(lambda n: f"City {n}")
    start_date = datetime.date(2022, 6, 20)
    end_date = factory.LazyAttribute(lambda m: m.start_date + datetime.timedelta(days=4))


class AttendanceFactory(DjangoModelFactory):
    class Meta:
        model = Attendance

    meeting = factory.SubFactory(MeetingFactory)
    participant = factory.SubFactory(ParticipantFactory)


class AgendaVersionFactory(SourcedFactory):
    class Meta:
        model = AgendaVersion

    meeting = factory.SubFactory(MeetingFactory)
    number = 1
    label = "Draft agenda"
    dated = datetime.date(2022, 5, 20)


class AgendaItemFactory(SourcedFactory):
    class Meta:
        model = AgendaItem

    meeting = factory.SubFactory(MeetingFactory)
    title = factory.Sequence(lambda n: f"Agenda item {n}")


class SessionFactory(SourcedFactory):
    class Meta:
        model = Session

    meeting = factory.SubFactory(MeetingFactory)
    title = factory.Sequence(lambda n: f"Session {n}")
    date = factory.SelfAttribute("meeting.start_date")


# Letters, proposals, decisions


class LetterFactory(SourcedFactory):
    class Meta:
        model = Letter

    slug = factory.Sequence(lambda n: f"2022-05-20-letter-{n}")
    date = datetime.date(2022, 5, 20)
    subject = factory.Sequence(lambda n: f"Draft agenda objection {n}")
    summary = "Objects to an item on the draft agenda."


class QuoteFactory(DjangoModelFactory):
    class Meta:
        model = Quote

    letter = factory.SubFactory(LetterFactory)
    text = "The item has no place on the agenda."
    speaker_label = "the delegate"
    source = factory.SubFactory(SourceFactory)


class ProposalFactory(SourcedFactory):
    class Meta:
        model = Proposal

    slug = factory.Sequence(lambda n: f"proposal-{n}")
    title = factory.Sequence(lambda n: f"Proposal {n}")
    kind = Proposal.Kind.DEFINITION_AMENDMENT


class DecisionFactory(SourcedFactory):
    """A decision at a meeting on a proposal put to that meeting; traits for the other subjects."""

    class Meta:
        model = Decision

    class Params:
        on_agenda_item = factory.Trait(
            subject_kind=Decision.SubjectKind.AGENDA_ITEM,
            proposal=None,
            agenda_item=factory.SubFactory(
                AgendaItemFactory, meeting=factory.SelfAttribute("..meeting")
            ),
        )
        on_communique = factory.Trait(
            subject_kind=Decision.SubjectKind.COMMUNIQUE,
            proposal=None,
        )

    slug = factory.Sequence(lambda n: f"decision-{n}")
    title = factory.Sequence(lambda n: f"Decision {n}")
    subject_kind = Decision.SubjectKind.PROPOSAL
    meeting = factory.SubFactory(MeetingFactory)
    proposal = factory.SubFactory(ProposalFactory, meeting=factory.SelfAttribute("..meeting"))
    method = Decision.Method.MEETING


class AgendaEntryFactory(DjangoModelFactory):
    class Meta:
        model = AgendaEntry

    class Params:
        removed = factory.Trait(
            status=AgendaEntry.Status.REMOVED,
            removal_decision=factory.SubFactory(
                DecisionFactory,
                on_agenda_item=True,
                meeting=factory.SelfAttribute("..item.meeting"),
                agenda_item=factory.SelfAttribute("..item"),
            ),
        )

    version = factory.SubFactory(AgendaVersionFactory)
    item = factory.SubFactory(AgendaItemFactory, meeting=factory.SelfAttribute("..version.meeting"))
    status = AgendaEntry.Status.INCLUDED


class PositionFactory(SourcedFactory):
    class Meta:
        model = Position

    decision = factory.SubFactory(DecisionFactory)
    participant = factory.SubFactory(ParticipantFactory)
    stance = Position.Stance.SUPPORT


class ReportedAccountFactory(SourcedFactory):
    class Meta:
        model = ReportedAccount

    decision = factory.SubFactory(DecisionFactory)
    claim = "Names five objectors."


FACTORIES: dict[type, type[DjangoModelFactory]] = {
    factory_class._meta.model: factory_class
    for factory_class in list(globals().values())
    if isinstance(factory_class, type)
    and issubclass(factory_class, DjangoModelFactory)
    and not factory_class._meta.abstract
}
