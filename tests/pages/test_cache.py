"""The page cache: a page is rendered once per version of the record, and any change to the
record (a save, a delete, a many-to-many change) shows at once."""

import pytest

from participants.models import Participant
from proposals.models import Letter
from sources.pages import record_version

pytestmark = pytest.mark.django_db

URL = "/letters/2022-06-09-kp-chair/"


def test_a_page_seen_again_runs_no_query(client, record, django_assert_num_queries):
    first = client.get(URL)
    with django_assert_num_queries(0):
        again = client.get(URL)
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


def test_a_change_to_the_record_shows_at_once(client, record):
    client.get(URL)
    version = record_version()
    letter = Letter.objects.get(slug="2022-06-09-kp-chair")
    letter.subject = "The KP Chair calls it an impasse"
    letter.save()
    assert record_version() != version
    assert "calls it an impasse" in client.get(URL).content.decode()


def test_a_many_to_many_change_shows_at_once(client, record):
    assert 'href="/participants/ZW/"' not in client.get(URL).content.decode()
    Letter.objects.get(slug="2022-06-09-kp-chair").authors.add(Participant.objects.get(code="ZW"))
    assert 'href="/participants/ZW/"' in client.get(URL).content.decode()


def test_downloads_keep_their_file_name_from_the_cache(client, record):
    first = client.get("/charts/objections.csv")
    again = client.get("/charts/objections.csv")
    assert again["Content-Disposition"] == first["Content-Disposition"]
    assert again.content == first.content


def test_errors_are_not_kept(client, record):
    assert client.get("/letters/no-such-letter/").status_code == 404
    Letter.objects.filter(slug="2022-06-09-kp-chair").update(slug="no-such-letter")
    # update() sends no signal; the 404 was never cached, so the letter is found.
    assert client.get("/letters/no-such-letter/").status_code == 200
