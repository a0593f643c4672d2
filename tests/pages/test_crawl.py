"""A crawl of the site from its home page on the real record: every page reachable by links
answers 200 and no internal link is broken. The API links every page offers (JSON and CSV) are
followed too, now that the API is wired."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"]*)"')


def links(html: str, base: str) -> set[str]:
    found = set()
    for href in HREF.findall(html):
        href = href.replace("&amp;", "&")
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not url.startswith("/"):
            continue  # another host: the original of a source
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(client) -> tuple[dict[str, int], set[str], set[str]]:
    """Every page reachable from home; the API and static URLs they link to, not followed."""
    statuses: dict[str, int] = {}
    api, static = set(), set()
    todo = ["/"]
    while todo:
        url = todo.pop()
        if url in statuses:
            continue
        response = client.get(url)
        statuses[url] = response.status_code
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        for link in links(response.content.decode(), url):
            if link.startswith("/api/"):
                api.add(link)
            elif link.startswith("/static/"):
                static.add(link)
            elif not link.startswith("/admin/") and link not in statuses:
                todo.append(link)
    return statuses, api, static


def test_every_page_reachable_from_home_answers_200(client, record):
    statuses, _, static = crawl(client)
    broken = {url: status for url, status in statuses.items() if status != 200}
    assert not broken
    # Every kind of page was reached.
    for prefix in (
        "/meetings/2022-intersessional-kasane/",
        "/participants/RU/",
        "/observers/kpcsc/",
        "/people/",
        "/proposals/2022-",
        "/decisions/2022-",
        "/letters/2022-",
        "/letters/?",
        "/timeline/?year=",
        "/charts/objections.csv",
        "/sources/reuters-2022-06-16/",
    ):
        assert any(url.startswith(prefix) for url in statuses), prefix
    assert len(statuses) > 100
    assert static == {"/static/css/site.css"}


def test_every_api_link_answers_in_json_and_csv(client, record):
    _, api, _ = crawl(client)
    assert any("format=csv" in url for url in api)
    failed = {}
    for url in sorted(api):
        cache.clear()  # the API throttles anonymous clients; this is one client asking a lot
        response = client.get(url)
        if response.status_code != 200:
            failed[url] = response.status_code
    assert not failed
