"""The real 2022–2024 record: it loads idempotently and says what the sources say."""

import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from meetings.models import AgendaEntry, Meeting
from participants.models import Chairmanship, Participant
from proposals.models import Decision, Letter, Position, Proposal, ReportedAccount
from proposals.record import RECORD_DIR, load_record
from sources.models import Source, Sourced

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"
SPONSORS = {"UA", "EU", "AU", "GB", "CA", "US"}
OBJECTORS = {"RU", "BY", "CF", "KG", "ML"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"sources", "participants", "meetings", "proposals"}
    }


@pytest.fixture
def record():
    load_record()


def test_loading_twice_changes_nothing():
    first = load_record()
    counts = row_counts()
    second = load_record()

    assert first.changed
    assert not second.changed, second.summary()
    assert row_counts() == counts  # history tables included: the second load wrote no row


def test_command_reports_nothing_changed_the_second_time(capsys):
    call_command("load_kp_record")
    call_command("load_kp_record")
    assert "nothing changed" in capsys.readouterr().out


def test_kasane_item_sponsored_by_six_and_removed_after_five_objections(record):
    meeting = Meeting.objects.get(slug=KASANE)
    assert (meeting.start_date.isoformat(), meeting.end_date.isoformat()) == (
        "2022-06-20",
        "2022-06-24",
    )
    item = meeting.agenda_items.get(time_slot_minutes=60)
    assert {p.code for p in item.proposers.all()} == SPONSORS

    draft, final = meeting.agenda_versions.order_by("number")
    assert draft.dated.isoformat() == "2022-05-20"
    assert draft.entries.get(item=item).status == AgendaEntry.Status.INCLUDED
    removed = final.entries.get(item=item)
    assert removed.status == AgendaEntry.Status.REMOVED

    decision = removed.removal_decision
    objectors = {p.participant.code for p in decision.positions.objections()}
    assert objectors == OBJECTORS
    supporters = {
        p.participant.code
        for p in decision.positions.filter(
            stance=Position.Stance.SUPPORT, participant__isnull=False
        )
    }
    assert supporters == SPONSORS


def test_conflicting_account_of_who_vetoed_in_june_2022_is_kept_with_its_source(record):
    account = ReportedAccount.objects.get(decision__slug="2022-kasane-ukraine-item")
    assert {p.code for p in account.named_objectors.all()} == {"RU", "CN", "BY"}
    assert [s.key for s in account.sources.all()] == ["moscow-times-2022-08-18"]


def test_motion_to_exclude_russia_blocked_by_four_participants(record):
    proposal = Proposal.objects.get(slug="2022-exclude-russia-from-kasane")
    assert proposal.kind == Proposal.Kind.SUSPENSION_OR_EXCLUSION
    assert proposal.status == Proposal.Status.NOT_ADOPTED
    decision = proposal.decisions.get()
    assert decision.reported_outcome == Decision.Outcome.BLOCKED
    assert {p.participant.code for p in decision.positions.objections()} == {"BY", "CF", "KG", "ML"}


def test_2023_plenary_ended_without_communique_and_the_blockers_are_left_vague(record):
    meeting = Meeting.objects.get(slug="2023-plenary-victoria-falls")
    assert meeting.kind == Meeting.Kind.PLENARY
    assert meeting.communique_adopted is False
    communique = meeting.decisions.get(subject_kind=Decision.SubjectKind.COMMUNIQUE)
    assert communique.reported_outcome == Decision.Outcome.BLOCKED
    assert not communique.positions_complete  # "Russia and a small number of participants"
    assert {p.participant.code for p in communique.positions.objections()} == {"RU"}
    assert communique.accounts.filter(sources__key="uk-government-2023-11").exists()


def test_letters_of_the_kasane_dispute(record):
    russian = Letter.objects.get(slug="2022-05-20-russia")
    assert russian.date.isoformat() == "2022-05-20"
    assert {q.text for q in russian.quotes.all()} == {
        "no implications",
        "was absolutely beyond the scope",
    }
    assert Letter.objects.get(slug="2022-06-09-kp-chair").signatory.name == "Jacob Thamage"
    ukraine = Letter.objects.get(slug="2022-06-13-ukraine")
    assert ukraine.proposals.count() >= 2  # the two proposed amendments
    assert Letter.objects.get(slug="2022-05-us-state-department").date_display == "May 2022"
    assert Letter.objects.filter(authors__code="EU", slug="2022-european-commission").exists()


def test_un_general_assembly_resolution_adopted_by_consensus(record):
    decision = Decision.objects.get(slug="2024-unga-resolution")
    assert decision.date.isoformat() == "2024-04-03"
    assert decision.reported_outcome == Decision.Outcome.ADOPTED
    assert not decision.positions.objections().exists()


def test_chairs_and_standing(record):
    chairs = {c.year: c.participant.code for c in Chairmanship.objects.filter(body__isnull=True)}
    assert chairs == {2022: "BW", 2023: "ZW", 2024: "AE"}
    in_standing = Participant.objects.in_good_standing_on(
        Meeting.objects.get(slug=KASANE).start_date
    )
    assert "CF" in set(in_standing.values_list("code", flat=True))  # a partial embargo still counts


def test_every_record_has_at_least_one_source(record):
    sourced_models = [m for m in apps.get_models() if issubclass(m, Sourced)]
    assert len(sourced_models) >= 15
    for model in sourced_models:
        unsourced = model.objects.filter(sources__isnull=True)
        assert not unsourced.exists(), f"{model.__name__} without a source: {list(unsourced)}"
    for source in Source.objects.all():
        assert source.url or source.archive_copy


def test_every_archived_source_file_exists(record):
    archive = Path(__file__).resolve().parents[2].parent / "shared" / "sources"
    for name in Source.objects.exclude(archive_copy="").values_list("archive_copy", flat=True):
        assert (archive / name).is_file(), name


def test_a_broken_record_file_is_refused_and_changes_nothing(tmp_path):
    load_record()
    before = row_counts()
    for path in RECORD_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    broken = tmp_path / "2025.yaml"
    broken.write_text(
        "meetings:\n"
        "  - slug: 2025-plenary-nowhere\n"
        "    kind: plenary\n"
        "    start_date: 2025-11-10\n"
        "    end_date: 2025-11-01\n"  # ends before it starts
        "    sources: [kp-website]\n"
    )
    with pytest.raises(CommandError, match="nothing changed"):
        call_command("load_kp_record", directory=tmp_path)
    assert row_counts() == before
    assert not Meeting.objects.filter(slug="2025-plenary-nowhere").exists()
