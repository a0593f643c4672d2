"""Schemathesis against the generated schema on a live server: every endpoint, no 5xx, every
response matching its schema.

The server is pytest-django's live server on the test database, with the real record loaded
and committed; schemathesis writes (with an editor's token) and deletes there, and the
database is flushed afterwards. Every check runs except `positive_data_acceptance`: a request
the schema allows may still name a participant, meeting or source that does not exist, or a
slug already taken, and a 400 naming the field is the right answer to it; the schema cannot
list the record.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.authtoken.models import Token

from kp_tracker.groups import EDITOR_GROUP
from proposals.record import load_record

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.fixture
def api_server(request, transactional_db):
    """pytest-django's live server, started with WhiteNoise looking static files up per request
    (as tests/conftest.py arranges for the test client), so no collectstatic is needed."""
    with override_settings(WHITENOISE_AUTOREFRESH=True):
        return request.getfixturevalue("live_server")


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_schema(
    api_server, django_user_model, tmp_path
):
    load_record()
    editor = django_user_model.objects.create_user(username="schemathesis")
    # get_or_create: a transactional test before this one may have flushed the migrated groups.
    editor.groups.add(Group.objects.get_or_create(name=EDITOR_GROUP)[0])
    token = Token.objects.create(user=editor).key

    command = [
        str(SCHEMATHESIS),
        "run",
        f"{api_server.url}/api/schema/",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--header",
        f"Authorization: Token {token}",
        # Small and bounded: the coverage phase alone would otherwise send ~6,000 requests.
        "--max-examples",
        "3",
        "--max-time",
        "75",
        "--request-timeout",
        "20",
        "--seed",
        "20220620",
    ]
    # cwd: schemathesis keeps its state in ./.schemathesis, which belongs in no repository.
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=240)
    output = result.stdout + result.stderr
    print(output[output.find("SUMMARY") :])  # shown with -s, and on failure
    assert result.returncode == 0, output[-12000:]
    assert "Server error" not in output
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert selected[1] == selected[2] == tested[1], "every operation is tested"
