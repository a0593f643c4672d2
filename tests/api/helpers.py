"""Assertions the API tests share."""

import csv
import io


def assert_error(response, status: int, code: str | None = None, fields=()) -> dict:
    """The response is an error in the API's one shape, naming `fields` among its problems."""
    assert response.status_code == status, (response.status_code, response.content[:800])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status
    if code:
        assert error["code"] == code, error
    for field in fields:
        assert field in error["fields"], error
    return error


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))
