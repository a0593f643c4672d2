"""Charts: SVG drawn on the server, each with its numbers as a table and as CSV."""

import csv
import io
import re

import pytest

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_objections_chart_has_svg_table_and_csv_with_the_same_numbers(client, record):
    html = client.get("/charts/objections/").content.decode()
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert '<title id="objections-chart-title">' in html
    # Russia objected once in 2022 and twice in 2023 (agenda item and communique).
    assert "<title>Russian Federation, 2023: 2</title>" in html
    assert 'href="/charts/objections.csv"' in html
    data = rows(client.get("/charts/objections.csv"))
    assert data[0] == ["participant", "year", "objections"]
    assert ["RU", "2022", "1"] in data and ["RU", "2023", "2"] in data
    assert ["BY", "2022", "2"] in data


def test_co_objection_heat_map_counts_decisions_objected_together(client, record):
    html = client.get("/charts/co-objections/").content.decode()
    assert '<svg class="chart"' in html
    # Belarus and Mali objected together to both Kasane decisions.
    assert "<title>Belarus and Mali: 2</title>" in html
    data = rows(client.get("/charts/co-objections.csv"))
    assert data[0] == ["participant_a", "participant_b", "decisions_objected_together"]
    assert ["BY", "ML", "2"] in data and ["BY", "RU", "1"] in data
    # The bloc of four that objected together twice.
    bloc = re.search(r"<li>(.*?)</li>", html.split('id="blocs"')[1]).group(1)
    assert re.findall(r">([A-Z]{2})</a>", bloc) == ["BY", "CF", "KG", "ML"]


def test_removed_items_chart_per_meeting(client, record):
    html = client.get("/charts/removed-items/").content.decode()
    assert '<svg class="chart"' in html
    data = rows(client.get("/charts/removed-items.csv"))
    by_slug = {row[0]: row for row in data[1:]}
    assert by_slug["2022-intersessional-kasane"][3] == "1"
    assert by_slug["2023-plenary-victoria-falls"][3] == "1"
    assert by_slug["2024-un-general-assembly"][3] == "0"
    assert client.get("/charts/removed-items/?year=2023").status_code == 200
    assert client.get("/charts/removed-items/?year=nonsense").status_code == 200


def test_charts_work_on_an_empty_record(client, db):
    for url in ("/charts/objections/", "/charts/co-objections/", "/charts/removed-items/"):
        assert client.get(url).status_code == 200, url
