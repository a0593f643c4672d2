"""Every kind of page on the real record: it answers, shows what the record says, cites its
sources and links to the same data in the API."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"
VICTORIA_FALLS = "2023-plenary-victoria-falls"
KASANE_ITEM_DECISION = "2022-kasane-ukraine-item"
OBJECTORS = ["Belarus", "Central African Republic", "Kyrgyzstan", "Mali", "Russian Federation"]


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def text(html: str) -> str:
    """The page's text, tags stripped and whitespace collapsed, for phrase assertions."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_home_shows_latest_meetings_objections_removed_items_and_a_search_box(client, record):
    html = page(client, "/")
    assert f'href="/meetings/{KASANE}/"' in html
    assert f'href="/meetings/{VICTORIA_FALLS}/"' in html
    assert (
        "<del>Russia&#x27;s invasion of Ukraine and the definition of conflict diamonds</del>"
        in (html)
    )
    assert 'role="search"' in html and 'name="q"' in html
    assert 'href="/participants/RU/"' in html  # a recent objection
    assert 'href="/api/v1/objections/?format=csv"' in html


def test_meeting_page_shows_the_agenda_history_with_removal_objectors_decision_and_letters(
    client, record
):
    html = page(client, f"/meetings/{KASANE}/")
    words = text(html)
    assert "20–24 June 2022" in words
    assert "Kasane, Botswana" in words
    assert "Jacob Thamage" in words
    # Version 2 beside version 1, the removed item struck through.
    assert "Version 2 beside version 1" in words
    assert "<del>Russia&#x27;s invasion of Ukraine" in html
    for name in OBJECTORS:
        assert name in words
    assert f'href="/decisions/{KASANE_ITEM_DECISION}/"' in html
    assert 'href="/letters/2022-05-20-russia/"' in html  # Russia's objection letter
    assert "time slot 1 h" in words
    assert 'id="version-1"' in html and 'id="version-2"' in html
    # Sources, numbered and linked; the API in JSON and CSV.
    assert 'href="/sources/reuters-2022-06-16/"' in html
    assert 'href="#source-1"' in html
    assert f'href="/api/v1/meetings/{KASANE}/agenda/?format=csv"' in html


def test_meeting_page_says_when_no_communique_was_adopted(client, record):
    words = text(page(client, f"/meetings/{VICTORIA_FALLS}/"))
    assert "Not adopted — the meeting ended without a final communique" in words


def test_meetings_index_filters_by_year_and_kind(client, record):
    html = page(client, "/meetings/?year=2023&kind=plenary")
    assert f'href="/meetings/{VICTORIA_FALLS}/"' in html
    assert f'href="/meetings/{KASANE}/"' not in html
    html = page(client, "/meetings/?kind=intersessional")
    assert f'href="/meetings/{KASANE}/"' in html
    assert f'href="/meetings/{VICTORIA_FALLS}/"' not in html


def test_meetings_index_reports_a_bad_filter_instead_of_failing(client, record):
    html = page(client, "/meetings/?year=1066&kind=banquet")
    assert 'class="error"' in html
    assert f'href="/meetings/{KASANE}/"' in html  # the bad filters are ignored


def test_participant_page_shows_veto_record_with_co_objectors(client, record):
    html = page(client, "/participants/BY/")
    words = text(html)
    assert "Belarus" in words
    assert "Veto record" in words
    # Belarus joined in blocking both Kasane decisions; Russia objected with it on the first.
    assert f'href="/decisions/{KASANE_ITEM_DECISION}/"' in html
    assert 'href="/decisions/2022-kasane-exclude-russia/"' in html
    assert 'href="/participants/RU/"' in html and 'href="/participants/ML/"' in html
    assert "2 decisions blocked or joined in blocking" in words
    assert 'href="/api/v1/objections/?participant=BY&amp;format=csv"' in html


def test_participant_page_shows_status_over_time_and_chairs_held(client, record):
    words = text(page(client, "/participants/CF/"))
    assert "Under partial embargo" in words
    words = text(page(client, "/participants/BW/"))
    assert "2022: Chair of the Kimberley Process" in words
    assert "Hosted and chaired 2022 intersessional, Kasane" in words


def test_participant_codes_are_case_insensitive(client, record):
    response = client.get("/participants/ru/")
    assert response.status_code == 301
    assert response["Location"] == "/participants/RU/"


def test_decision_page_groups_positions_and_shows_every_rule_side_by_side(client, record):
    html = page(client, f"/decisions/{KASANE_ITEM_DECISION}/")
    words = text(html)
    for label in ("Support (7)", "Objection (5)", "Abstention (0)", "No position (0)"):
        assert label in words
    # The engine's stored explanation and every rule under both countings.
    assert "5 objection(s) counted under consensus" in words
    assert "KP consensus (the rule of record)" in words
    assert "Two-thirds majority of participants voting" in words
    assert "Silence counts as consent" in words and "Only recorded positions count" in words
    assert html.count('class="outcome outcome--adopted"') >= 3  # majorities would have passed it
    assert "Moscow Times" in words  # the other account, with its source


def test_decision_page_shows_the_stored_outcomes_never_recomputed(client, record):
    from proposals.models import Decision

    decision = Decision.objects.get(slug=KASANE_ITEM_DECISION)
    # Whatever the engine stored is what the page shows.
    Decision.objects.filter(pk=decision.pk).update(
        counterfactuals={**decision.counterfactuals, "two_thirds:recorded": "undetermined"}
    )
    words = text(page(client, f"/decisions/{KASANE_ITEM_DECISION}/"))
    assert "Undetermined" in words


def test_proposal_page_shows_sponsors_letters_and_decisions(client, record):
    html = page(client, "/proposals/2022-exclude-russia-from-kasane/")
    words = text(html)
    for name in ("Ukraine", "European Union", "Australia", "KP Civil Society Coalition"):
        assert name in words
    assert "Objection (4)" in words
    assert 'href="/decisions/2022-kasane-exclude-russia/"' in html
    html = page(client, "/proposals/2022-kasane-item-russia-ukraine/")
    assert 'href="/letters/2022-06-canada/"' in html


def test_letters_archive_filters_by_author_year_and_proposal(client, record):
    html = page(client, "/letters/?author=RU")
    assert 'href="/letters/2022-05-20-russia/"' in html
    assert 'href="/letters/2022-06-canada/"' not in html
    html = page(client, "/letters/?proposal=2022-kasane-item-russia-ukraine&year=2022")
    assert 'href="/letters/2022-06-canada/"' in html
    assert 'href="/letters/2022-05-20-russia/"' not in html
    html = page(client, "/letters/?author=XX")  # reported on the form, otherwise ignored
    assert 'class="error"' in html and 'href="/letters/2022-06-canada/"' in html


def test_letter_page_shows_quotes_with_their_sources(client, record):
    html = page(client, "/letters/2022-06-09-kp-chair/")
    words = text(html)
    assert "“We are at an impasse”" in words
    assert 'href="/people/jacob-thamage/"' in html
    assert 'href="/sources/reuters-2022-06-16/"' in html


def test_timeline_lists_the_whole_record_by_year(client, record):
    html = page(client, "/timeline/")
    for year in ("2024", "2023", "2022"):
        assert f'id="year-{year}"' in html
    assert f'href="/meetings/{KASANE}/"' in html
    assert 'href="/letters/2022-05-20-russia/"' in html
    assert f'href="/decisions/{KASANE_ITEM_DECISION}/"' in html
    html = page(client, "/timeline/?year=2023")
    assert 'id="year-2022"' not in html


def test_source_page_lists_what_the_source_supports(client, record):
    html = page(client, "/sources/reuters-2022-06-16/")
    words = text(html)
    assert "Top Russian producer thwarts decision" in words
    assert f'href="/meetings/{KASANE}/"' in html
    assert 'href="/letters/2022-05-20-russia/"' in html
    assert f'href="/decisions/{KASANE_ITEM_DECISION}/#positions"' in html


def test_search_finds_letters_participants_and_meetings(client, record):
    html = page(client, "/search/?q=Kasane")
    assert f'href="/meetings/{KASANE}/"' in html
    html = page(client, "/search/?q=Belarus")
    assert 'href="/participants/BY/"' in html
    html = page(client, "/search/?q=deadlock")
    assert 'href="/letters/2022-06-09-kp-chair/"' in html
    assert "<mark>deadlock</mark>" in html


def test_observer_and_person_pages(client, record):
    words = text(page(client, "/observers/kpcsc/"))
    assert "its objections never block consensus" in words
    words = text(page(client, "/people/george-cajati/"))
    assert "The United States on the proceeds of Russian diamond production" in words


@pytest.mark.parametrize(
    "name",
    [
        "proposals:home",
        "proposals:search",
        "meetings:list",
        "participants:list",
        "proposals:proposal_list",
        "proposals:decision_list",
        "proposals:letter_list",
        "proposals:timeline",
        "proposals:charts",
        "proposals:chart_objections",
        "proposals:chart_co_objections",
        "proposals:chart_removed_items",
        "sources:list",
    ],
)
def test_every_page_has_a_skip_link_landmarks_and_one_h1(client, record, name):
    html = page(client, reverse(name))
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html and "<nav" in html and "<footer" in html
    assert html.count("<h1") == 1
    assert '<html lang="en">' in html


def test_unknown_identifiers_are_404(client, record):
    for url in (
        "/meetings/no-such-meeting/",
        "/participants/XX/",
        "/decisions/no-such-decision/",
        "/proposals/nope/",
        "/letters/nope/",
        "/sources/nope/",
        "/observers/nope/",
        "/people/nope/",
    ):
        assert client.get(url).status_code == 404, url


def test_pages_load_nothing_from_another_host(client, record):
    html = page(client, f"/meetings/{KASANE}/")
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert "<script" not in html
