"""The pages in a real browser: Debian's Chromium, driven headless by Playwright, against the
live test server with the real record loaded. The tests open each kind of page, follow links, use
search and filters, check keyboard access and the phone layout, and save screenshots under
test-artifacts/pages/ (ignored by git) for a person to look at.
"""

from pathlib import Path

import pytest
from django.conf import settings

from proposals.record import load_record
from tests.browser import chromium, needs_chromium

# Imported here only for `expect`; the browser itself starts in the `browser` fixture.
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "pages"

pytestmark = [
    needs_chromium,
    # The live server reads committed rows. Serialized rollback puts back what the migrations
    # created (the Secretariat groups) after the flush, for the tests that run later.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser


@pytest.fixture
def site(live_server):
    load_record()
    return live_server.url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.requested = requested
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def only_local(page, site: str) -> None:
    """Nothing was loaded from another host."""
    assert all(url.startswith(site) for url in page.requested), page.requested


def test_browse_meetings_decisions_and_participants(site, page):
    page.goto(site + "/")
    assert page.title() == "Home · KP Tracker"
    shot(page, "home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Meetings").click()
    page.get_by_label("Year").select_option("2022")
    page.get_by_role("button", name="Show meetings").click()
    page.wait_for_url("**/meetings/?year=2022*")
    expect(page.get_by_role("link", name="2022 intersessional, Kasane")).to_be_visible()
    expect(page.get_by_role("link", name="2023 plenary, Victoria Falls")).to_have_count(0)
    shot(page, "meetings-2022")

    page.get_by_role("link", name="2022 intersessional, Kasane").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2022 intersessional, Kasane")
    removed = page.locator("del", has_text="Russia's invasion of Ukraine").first
    expect(removed).to_be_visible()
    expect(page.get_by_role("table", name="Version 2 beside version 1")).to_be_visible()
    shot(page, "meeting-kasane")

    # The removal's decision, then one of the objectors.
    page.get_by_role("link", name="Keep the discussion of Russia's invasion").first.click()
    expect(page.get_by_role("heading", name="Positions")).to_be_visible()
    expect(
        page.get_by_role("table", name="Outcomes stored by the consensus engine")
    ).to_be_visible()
    shot(page, "decision-kasane-item")
    page.locator(".stance--objection").get_by_role("link", name="Belarus").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Belarus (BY)")
    expect(
        page.get_by_role("table", name="Decisions blocked with Belarus's objection")
    ).to_be_visible()
    shot(page, "participant-belarus")

    # A footnote leads to the source's page, which lists what it supports.
    page.locator("#sources-heading + ol a").first.click()
    expect(page.get_by_role("heading", name="What this source supports")).to_be_visible()
    shot(page, "source")
    only_local(page, site)


def test_search_and_filter_letters_then_timeline_and_charts(site, page):
    page.goto(site + "/")
    page.get_by_label("Search meetings, participants, proposals, decisions and letters").fill(
        "deadlock"
    )
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=deadlock")
    expect(page.locator("mark", has_text="deadlock").first).to_be_visible()
    shot(page, "search-deadlock")

    page.goto(site + "/letters/")
    page.get_by_label("Words in the subject or summary").fill("Russian diamonds")
    page.get_by_role("button", name="Show letters").click()
    expect(page.locator(".cards mark").first).to_be_visible()
    shot(page, "letters-search")

    page.goto(site + "/letters/")
    page.get_by_label("Author").select_option("CA")
    page.get_by_role("button", name="Show letters").click()
    page.wait_for_url("**author=CA*")
    expect(page.get_by_role("link", name="Canada asks the KP to consider")).to_be_visible()
    expect(page.get_by_role("link", name="Russia rejects the proposed agenda")).to_have_count(0)
    page.get_by_role("link", name="Canada asks the KP").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    shot(page, "letter-canada")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Timeline").click()
    page.get_by_role("navigation", name="Years").get_by_role("link", name="2023").click()
    expect(page.get_by_role("heading", name="2023", exact=True)).to_be_visible()
    shot(page, "timeline-2023")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Charts").click()
    for name, slug in (
        ("Objections per participant per year", "chart-objections"),
        ("Co-objection matrix", "chart-co-objections"),
        ("Agenda items removed per meeting", "chart-removed-items"),
    ):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.locator("svg.chart")).to_be_visible()
        expect(page.get_by_role("img", name=name)).to_be_visible()
        shot(page, slug)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download").click()
        assert download.value.suggested_filename.endswith(".csv")
        page.go_back()
    only_local(page, site)


def test_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_main(site, page):
    page.goto(site + "/meetings/2022-intersessional-kasane/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    box = page.get_by_role("link", name="Skip to main content").bounding_box()
    assert box and box["y"] >= 0  # shown on focus, not left off-screen
    shot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tabbing on from main reaches the page's first link after the skip target.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_pages_fit_a_phone_screen(site, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    try:
        for path, name in (
            ("/", "phone-home"),
            ("/meetings/2022-intersessional-kasane/", "phone-meeting"),
            ("/decisions/2022-kasane-ukraine-item/", "phone-decision"),
            ("/participants/RU/", "phone-participant"),
            ("/letters/?q=diamonds", "phone-letters"),
            ("/charts/co-objections/", "phone-chart"),
        ):
            page.goto(site + path)
            # Nothing wider than the screen but the tables and charts, which scroll in place.
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
            shot(page, name)
    finally:
        context.close()
