"""Text written by people — letter summaries above all — reaches every page escaped, including
search results whose matches are highlighted and charts drawn as SVG."""

import datetime

import pytest

from meetings.models import AgendaEntry, AgendaItem, Meeting
from participants.models import Participant
from proposals.models import Decision, Letter, Position, Proposal
from sources.models import Source

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('kp')</script>"
HTML = '<b onmouseover="steal()">bold</b>'


@pytest.fixture
def hostile_letter(record):
    source = Source.objects.get(key="reuters-2022-06-16")
    letter = Letter.objects.create(
        slug="hostile-letter",
        date=datetime.date(2022, 6, 15),
        subject=f"Diamonds {HTML} subject",
        summary=f"A summary about diamonds with {SCRIPT} and {HTML} inside it.",
        addressee=SCRIPT,
        signatory_label=HTML,
    )
    letter.sources.add(source)
    letter.authors.add(Participant.objects.get(code="RU"))
    Proposal.objects.get(slug="2022-kasane-item-russia-ukraine").letters.add(letter)
    return letter


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#x27;kp&#x27;)&lt;/script&gt;" in html or (
        "&lt;b onmouseover=" in html
    )


@pytest.mark.parametrize(
    "url",
    [
        "/letters/hostile-letter/",
        "/letters/",
        "/letters/?author=RU",
        "/letters/?q=diamonds",
        "/letters/?q=bold",
        "/letters/?q=summary+bold",
        "/search/?q=diamonds",
        "/search/?q=inside",
        "/proposals/2022-kasane-item-russia-ukraine/",
        "/meetings/2022-intersessional-kasane/",
        "/participants/RU/",
        "/timeline/",
        "/sources/reuters-2022-06-16/",
    ],
)
def test_html_and_script_in_a_letter_are_shown_escaped(client, hostile_letter, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "hostile-letter" in html, "the letter must be on the page for the test to mean much"
    assert_escaped(html)


def test_search_highlights_matches_but_escapes_the_text_around_them(client, hostile_letter):
    html = client.get("/letters/?q=summary").content.decode()
    assert "<mark>summary</mark>" in html
    assert_escaped(html)


def test_a_participant_name_with_markup_is_escaped_in_charts(client, record):
    participant = Participant.objects.create(code="QZ", name=f"Q{HTML}")
    Position.objects.create(
        decision=Decision.objects.get(slug="2022-kasane-ukraine-item"),  # others objected too
        participant=participant,
        stance="objection",
    )
    for url in ("/charts/objections/", "/charts/co-objections/", "/participants/"):
        html = client.get(url).content.decode()
        assert "<b onmouseover" not in html, url
        assert "&lt;b onmouseover" in html, url


def test_a_stored_javascript_url_never_becomes_a_link(client, record):
    Source.objects.filter(key="reuters-2022-06-16").update(url="javascript:alert(1)")
    html = client.get("/sources/reuters-2022-06-16/").content.decode()
    assert 'href="javascript:' not in html


def test_markup_in_a_meeting_its_agenda_and_proposers_is_escaped(client, record):
    # The meeting page builds its agenda entries, removals and proposers in Python, the charts
    # their labels: each must escape as the templates do.
    meeting = Meeting.objects.get(slug="2022-intersessional-kasane")
    Meeting.objects.filter(pk=meeting.pk).update(title=SCRIPT)
    AgendaItem.objects.filter(meeting=meeting).update(title=f"Item {HTML}")
    AgendaEntry.objects.filter(item__meeting=meeting).update(note=SCRIPT)
    Participant.objects.filter(code="UA").update(name=f"U{HTML}")
    for url in (
        "/meetings/2022-intersessional-kasane/",
        "/meetings/",
        "/charts/removed-items/",
    ):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "<b onmouseover" not in html, url
        assert "&lt;script&gt;alert(&#x27;kp&#x27;)&lt;/script&gt;" in html, url
    html = client.get("/meetings/2022-intersessional-kasane/").content.decode()
    assert "Item &lt;b onmouseover=" in html
