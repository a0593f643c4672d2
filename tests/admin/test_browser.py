"""The secretariat's main admin flows in a real browser: Debian's Chromium, driven headless by
Playwright, against the live test server with the real record loaded, logged in as an editor
through the login form. Screenshots go to test-artifacts/admin/ (ignored by git).
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission

from kp_tracker.groups import EDITOR_GROUP
from meetings.models import AgendaItem, AgendaVersion, Meeting
from participants.models import Participant
from proposals.models import Decision
from proposals.record import load_record
from sources.models import Source
from tests.browser import chromium, needs_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "admin"
PASSWORD = "a long editor pass phrase"
KASANE = "2022-intersessional-kasane"

pytestmark = [
    needs_chromium,
    # The live server reads committed rows; serialized rollback restores the Secretariat groups
    # (made by migrations) after the flush, for the tests that run later.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser


@pytest.fixture
def site(live_server, django_user_model):
    load_record()
    # The group as its migration makes it (another transactional test's flush may have
    # emptied the table; the permissions come back with the flush's post-migrate signal).
    editors, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    editors.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=["sources", "participants", "meetings", "proposals"]
        )
    )
    for name in ("clerk", "second-clerk"):
        user = django_user_model.objects.create_user(
            username=name, password=PASSWORD, is_staff=True
        )
        user.groups.add(editors)
    return live_server.url


def editor_page(browser, site: str, username: str = "clerk"):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{site}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    expect(page.locator("#user-tools")).to_contain_text(f"Welcome, {username}.")
    return page


@pytest.fixture
def page(browser, site):
    page = editor_page(browser, site)
    yield page
    page.context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_record_a_decision_on_one_page(site, page):
    # An item the record does not have (Kasane's one item was decided already).
    item = AgendaItem.objects.create(
        meeting=Meeting.objects.get(slug=KASANE), title="Press access to closed sessions"
    )
    item.sources.set([Source.objects.get(key="reuters-2022-06-16")])
    page.goto(f"{site}/admin/proposals/decision/")
    page.click("text=Record a decision on one page")
    # The meeting, picked with the admin's autocomplete.
    page.click("#choose-meeting .select2-selection")
    page.fill(".select2-search__field", "Kasane")
    page.locator(".select2-results__option", has_text="Kasane").first.click()
    page.click("input[name=_continue]")

    expect(page.locator("#participant-positions tbody tr")).to_have_count(
        Participant.objects.in_good_standing_on(Meeting.objects.get(slug=KASANE).start_date).count()
    )
    page.select_option("#id_decision-subject_kind", "agenda_item")
    page.select_option("#id_decision-agenda_item", str(item.pk))
    page.fill("#id_decision-title", "Keep closed sessions on the agenda")
    page.click(".field-sources .select2-selection")
    page.fill(".select2-search__field", "Reuters")
    page.locator(".select2-results__option").first.click()
    russia = page.locator("#participant-positions tr[data-holder=RU]")
    russia.locator("select[name$=stance]").select_option("objection")
    russia.locator("input[name$=reason]").fill("Journalists have no place in closed sessions.")
    ukraine = page.locator("#participant-positions tr[data-holder=UA]")
    ukraine.locator("select[name$=stance]").select_option("support")
    shot(page, "decision-page-filled")
    page.click("input[name=_save]")

    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Outcome under the KP's rule: Blocked")
    expect(outcome).to_contain_text("is marked removed by this decision")
    expect(page.locator(".messagelist")).to_contain_text("2 position(s) added")
    shot(page, "decision-page-outcome")
    decision = Decision.objects.get(title="Keep closed sessions on the agenda")
    assert AgendaItem.objects.get(pk=item.pk).removed_by == decision
    # The link goes to the item, which shows who removed it.
    outcome.locator("a", has_text="is marked removed").click()
    expect(page.locator(".field-removed_by")).to_contain_text("Keep closed sessions")


def test_copy_an_agenda_version_and_see_the_difference(site, page):
    # The draft of 20 May, where the Ukraine item was still on the agenda.
    draft = AgendaVersion.objects.get(meeting__slug=KASANE, number=1)
    latest = AgendaVersion.objects.filter(meeting__slug=KASANE).order_by("-number").first()
    page.goto(f"{site}/admin/meetings/agendaversion/{draft.pk}/change/")
    page.click("button:has-text('New version from this one')")

    expect(page.locator(".messagelist")).to_contain_text(
        f"Version {latest.number + 1} drafted from version 1"
    )
    page.fill("#id_label", "Revised agenda")
    # Defer the first entry, and give it a slot of its own.
    page.select_option("select[name='entries-0-status']", "deferred")
    page.fill("input[name='entries-0-time_slot_minutes']", "45")
    shot(page, "agenda-version-copied")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.click("text=Changes from the previous version")
    table = page.locator("#agenda-diff")
    expect(table).to_contain_text("Status changed")
    expect(table).to_contain_text("Deferred")
    expect(table).to_contain_text("Time slot changed")
    shot(page, "agenda-version-diff")


def test_history_shows_who_changed_what_and_restores_it(site, page):
    botswana = Participant.objects.get(code="BW")
    page.goto(f"{site}/admin/participants/participant/{botswana.pk}/change/")
    page.fill("#id_note", "Chaired the KP in 2013.")
    page.click("input[name=_continue]")
    page.click("text=History")

    history = page.locator("#change-history")
    expect(history).to_contain_text("clerk")
    expect(history).to_contain_text("Note:")
    expect(history).to_contain_text("Chaired the KP in 2013.")
    shot(page, "participant-history")

    # Restore the version before the edit.
    history.locator("tbody tr").last.locator("a").first.click()
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    botswana.refresh_from_db()
    assert botswana.note == ""


def test_two_editors_saving_the_same_record(site, page, browser):
    botswana = Participant.objects.get(code="BW")
    url = f"{site}/admin/participants/participant/{botswana.pk}/change/"
    other = editor_page(browser, site, "second-clerk")
    page.goto(url)
    other.goto(url)

    page.fill("#id_name", "Republic of Botswana")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    other.fill("#id_note", "Hosted the 2022 intersessional.")
    other.click("input[name=_continue]")
    conflict = other.locator("#conflict")
    expect(conflict).to_contain_text("Changed by someone else while you were editing")
    expect(conflict).to_contain_text("Republic of Botswana")
    expect(conflict).to_contain_text("clerk")
    shot(other, "edit-conflict")
    botswana.refresh_from_db()
    assert (botswana.name, botswana.note) == ("Republic of Botswana", "")
    other.context.close()
