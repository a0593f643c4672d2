"""Behaviour every endpoint shares: the error shape, CSV, ETags, throttling, pagination,
ordering, the schema and the interactive docs."""

import re

import pytest

from tests.api.helpers import assert_error, csv_rows

pytestmark = pytest.mark.django_db

KASANE = "2022-intersessional-kasane"


# --- the one error shape ------------------------------------------------------------------


def test_unknown_record_is_a_404_in_the_error_shape(kp_record, anon):
    assert_error(anon.get("/api/v1/participants/XX/"), 404, "not_found")
    assert_error(anon.get("/api/v1/meetings/no-such-meeting/agenda/"), 404, "not_found")
    assert_error(anon.get("/api/v1/decisions/999999/"), 404, "not_found")


def test_bad_query_parameter_is_a_400_naming_it(kp_record, anon):
    assert_error(anon.get("/api/v1/objections/?year=last"), 400, "invalid", ["year"])
    assert_error(anon.get("/api/v1/meetings/?kind=party"), 400, "invalid", ["kind"])
    assert_error(anon.get("/api/v1/meetings/?ordering=colour"), 400, "invalid", ["ordering"])
    assert_error(anon.get("/api/v1/objections/?ordering=colour"), 400, "invalid", ["ordering"])
    assert_error(anon.get("/api/v1/objections/?page_size=0"), 400, "invalid", ["page_size"])
    assert_error(anon.get("/api/v1/meetings/?page_size=x"), 400, "invalid", ["page_size"])
    assert_error(anon.get("/api/v1/objections/?cursor=garbage"), 400, "invalid", ["cursor"])


def test_errors_stay_json_when_csv_was_asked_for(kp_record, anon):
    assert_error(anon.get("/api/v1/objections/?year=last&format=csv"), 400, "invalid", ["year"])
    assert_error(anon.get("/api/v1/participants/XX/", HTTP_ACCEPT="text/csv"), 404)


def test_unsupported_accept_header_is_a_406(kp_record, anon):
    assert_error(anon.get("/api/v1/participants/", HTTP_ACCEPT="application/xml"), 406)


def test_malformed_json_body_is_a_400(editor):
    response = editor.generic(
        "POST", "/api/v1/sources/", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_an_invalid_token_is_refused_even_for_reading(kp_record, anon):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(anon.get("/api/v1/participants/"), 401, "authentication_failed")


# --- CSV ----------------------------------------------------------------------------------


def test_every_list_is_csv_by_query_parameter_or_accept_header(kp_record, anon):
    by_parameter = anon.get("/api/v1/objections/?participant=RU&format=csv")
    by_header = anon.get("/api/v1/objections/?participant=RU", HTTP_ACCEPT="text/csv")
    assert by_parameter.content == by_header.content
    rows = csv_rows(by_parameter)
    assert {row["participant"] for row in rows} == {"RU"}
    assert 'filename="objection.csv"' in by_parameter["Content-Disposition"]


def test_csv_flattens_nested_values(kp_record, anon):
    rows = csv_rows(anon.get("/api/v1/decisions/2022-kasane-ukraine-item/?format=csv"))
    (row,) = rows
    assert row["explanation.outcome"] == "blocked"
    assert row["explanation.blocked_by"] == "BY; CF; KG; ML; RU"
    assert row["parties_concerned"] == "RU"


def test_csv_cells_cannot_run_as_spreadsheet_formulas(editor):
    editor.post(
        "/api/v1/sources/",
        {"key": "formula", "publisher": "=HYPERLINK(1)", "title": "-2", "url": "https://e.org/"},
        format="json",
    )
    (row,) = csv_rows(editor.get("/api/v1/sources/?publisher=HYPERLINK&format=csv"))
    assert row["publisher"] == "'=HYPERLINK(1)"
    assert row["title"] == "-2"  # a number stays a number


# --- ETags and conditional GET ------------------------------------------------------------


def test_a_matching_etag_gets_304_and_no_body(kp_record, anon):
    url = f"/api/v1/meetings/{KASANE}/agenda/"
    first = anon.get(url)
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = anon.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_the_etag_changes_when_the_data_does(kp_record, anon, editor):
    url = "/api/v1/participants/RU/"
    etag = anon.get(url)["ETag"]
    editor.patch(url, {"note": "Changed."}, format="json")
    response = anon.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_csv_and_json_have_different_etags(kp_record, anon):
    url = "/api/v1/objections/"
    assert anon.get(url)["ETag"] != anon.get(url + "?format=csv")["ETag"]
    assert "Accept" in anon.get(url)["Vary"]


# --- throttling ---------------------------------------------------------------------------


def test_anonymous_reads_are_throttled_per_address(kp_record, anon, throttled, editor):
    for _ in range(3):
        assert anon.get("/api/v1/rules/").status_code == 200
    response = anon.get("/api/v1/rules/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another address has its own allowance; a signed-in editor is not throttled.
    assert anon.get("/api/v1/rules/", REMOTE_ADDR="10.0.0.2").status_code == 200
    for _ in range(5):
        assert editor.get("/api/v1/rules/").status_code == 200


# --- pagination ---------------------------------------------------------------------------


def test_keyset_cursor_pages_through_every_row_once_both_ways(record_of_scale, anon):
    record_of_scale(3)
    url = "/api/v1/objections/?ordering=-date&page_size=5&date_to=2010-12-31"
    seen, pages = [], []
    while url:
        body = anon.get(url).json()
        pages.append(body)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 24  # 6 meetings x 2 blocked decisions x 2 objectors
    dates = [row["date"] for page in pages for row in page["results"]]
    assert dates == sorted(dates, reverse=True)
    # Back from the last page to the first, by `previous` links.
    back, url = [], pages[-1]["previous"]
    while url:
        body = anon.get(url).json()
        back = [row["id"] for row in body["results"]] + back
        url = body["previous"]
    assert back + [row["id"] for row in pages[-1]["results"]] == seen
    assert pages[0]["previous"] is None


def test_the_default_newest_first_pages_are_the_same_rows_as_the_general_path(
    record_of_scale, anon
):
    """Unfiltered id-ordered pages come from a prepared query; filtered ones from the ORM."""
    record_of_scale(3)
    for ordering in ("-id", "id"):
        fast, url = [], f"/api/v1/objections/?ordering={ordering}&page_size=7"
        while url:
            body = anon.get(url).json()
            fast += [row["id"] for row in body["results"]]
            url = body["next"]
        general = [
            row["id"]
            for row in anon.get(
                f"/api/v1/objections/?ordering={ordering}&page_size=1000&date_to=2999-12-31"
            ).json()["results"]
        ]
        assert fast == general and len(fast) >= 24
        last = anon.get(f"/api/v1/objections/?ordering={ordering}&page_size=7").json()
        back = anon.get(anon.get(last["next"]).json()["previous"]).json()
        assert back["results"] == last["results"]


def test_a_doctored_cursor_is_a_400_on_every_path(kp_record, anon):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps({"v": ["x"], "r": 0}).encode()).decode()
    assert_error(anon.get(f"/api/v1/objections/?cursor={cursor}"), 400, "invalid", ["cursor"])
    assert_error(
        anon.get(f"/api/v1/objections/?cursor={cursor}&participant=RU"), 400, "invalid", ["cursor"]
    )


def test_pagination_links_are_also_in_the_link_header(record_of_scale, anon):
    record_of_scale(3)
    response = anon.get("/api/v1/objections/?page_size=5")
    assert response["Link"] == f'<{response.json()["next"]}>; rel="next"'
    response = anon.get("/api/v1/meetings/?page_size=2")
    assert 'rel="next"' in response["Link"]


def test_page_numbers_on_the_small_lists(kp_record, anon):
    body = anon.get("/api/v1/participants/?page_size=10&ordering=code").json()
    assert body["count"] == 57
    assert len(body["results"]) == 10
    assert body["results"][0]["code"] == "AE"
    assert "page=2" in body["next"]


# --- schema and docs ----------------------------------------------------------------------


def test_openapi_schema_documents_every_endpoint_with_errors(anon):
    response = anon.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert "/api/v1/objections/" in paths
    assert "/api/v1/meetings/{slug}/agenda/" in paths
    assert "/api/v1/popolo/" in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses and "401" in responses and "429" in responses, (path, method)
            if method in {"post", "put", "patch", "delete"}:
                assert {"403", "409"} <= set(responses), (path, method)
                assert {"tokenAuth": []} in operation["security"]
            else:
                assert {} in operation["security"], (path, method)  # anonymous reading
    parameters = {p["name"] for p in paths["/api/v1/objections/"]["get"]["parameters"]}
    assert {"participant", "meeting", "year", "date_from", "date_to", "subject_kind"} <= parameters
    assert {"cursor", "page_size", "ordering"} <= parameters


def test_interactive_docs_load_nothing_from_another_host(anon, settings):
    settings.STATIC_URL = "/static/"
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r'(?:src|href)="(https?:)?//[^"]+"', html)
    assert not external, external
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    # drf-spectacular's ReDoc page would fetch Google's fonts: not offered.
    assert anon.get("/api/redoc/").status_code == 404


# --- prepared queries -----------------------------------------------------------------------


def test_a_prepared_query_returns_what_the_orm_returns_for_every_value(record_of_scale):
    from kp_tracker.api_common import PreparedQuery
    from meetings.models import AgendaEntry
    from proposals.models import Decision

    record_of_scale(2)
    entries = PreparedQuery(
        lambda slug: (
            AgendaEntry.objects.filter(version__meeting__slug=slug)
            .order_by("order", "id")
            .values_list("id", "item__title", "status", "version__dated")
        )
    )
    decisions = PreparedQuery(
        lambda ids, outcome: (
            Decision.objects.filter(pk__in=ids, outcome=outcome)
            .order_by("id")
            .values_list("id", "slug", "date")
        )
    )
    for slug in ("2000-meeting-0", "2001-meeting-1", "no-such-meeting"):
        assert entries.rows(slug=slug) == list(entries.build(slug=slug))
    all_ids = list(Decision.objects.order_by("id").values_list("id", flat=True))
    for ids in (all_ids[:3], all_ids[3:5], all_ids[:3][::-1], set(all_ids), []):
        for outcome in ("blocked", "adopted"):
            expected = list(decisions.build(ids=ids, outcome=outcome))
            assert decisions.rows(ids=ids, outcome=outcome) == expected
