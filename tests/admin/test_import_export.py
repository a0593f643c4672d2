"""Import from CSV and Excel with a preview, all or nothing, by public identifiers; export of
any list."""

import io

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from meetings.models import AgendaItem, Meeting
from participants.models import Participant
from proposals.models import Decision, Position
from tests.factories import (
    DecisionFactory,
    MeetingFactory,
    ParticipantFactory,
    PositionFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

CSV, XLSX = "0", "1"  # the formats' positions in the admin's choice (kp_tracker/admin_io.py)


def admin_url(model, view: str) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def upload(client, model, content: bytes, file_format: str = CSV, name: str = "rows.csv"):
    """Step one: the file goes up and comes back as a preview."""
    return client.post(
        admin_url(model, "import"),
        {
            "import_file": SimpleUploadedFile(name, content),
            "format": file_format,
            "resource": "0",
        },
    )


def confirm(client, model, preview):
    """Step two: the preview's confirm form, as the editor sends it."""
    form = preview.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    return client.post(admin_url(model, "process_import"), data)


def csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode()


@pytest.fixture
def source():
    return SourceFactory(key="kp-website")


def test_participants_import_from_csv_after_a_preview(editor_client, source):
    ParticipantFactory(code="BW", name="Botswana")
    content = csv(
        [
            ["code", "name", "kind", "joined_on", "note", "sources"],
            ["BW", "Republic of Botswana", "state", "2003-01-01", "", "kp-website"],
            ["NA", "Namibia", "state", "", "", "kp-website"],
        ]
    )

    preview = upload(editor_client, Participant, content)

    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["update", "new"]
    assert Participant.objects.get(code="BW").name == "Botswana"  # nothing written yet
    assert "Republic" in preview.content.decode()  # the preview's diff of the change

    response = confirm(editor_client, Participant, preview)

    assert response.status_code == 302
    botswana = Participant.objects.get(code="BW")
    assert (botswana.name, botswana.lock_version) == ("Republic of Botswana", 2)
    namibia = Participant.objects.get(code="NA")
    assert list(namibia.sources.all()) == [source]
    assert namibia.history.get().history_user.username == "secretariat-editor"


def test_import_with_one_bad_row_imports_nothing_and_shows_the_error_on_that_row(
    editor_client, source
):
    content = csv(
        [
            ["code", "name", "kind", "joined_on", "note", "sources"],
            ["NA", "Namibia", "state", "", "", "kp-website"],
            ["b1", "Nowhere", "state", "", "", "kp-website"],
            ["ZA", "South Africa", "state", "", "", ""],
            ["AO", "Angola", "state", "", "", "kp-website|no-such-source"],
            ["ZW", "Zimbabwe", "state", "", "", "kp-website"],
        ]
    )

    preview = upload(editor_client, Participant, content)

    result = preview.context["result"]
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3, 4}  # the rows, numbered from the first under the header
    assert "two capital letters" in str(invalid[2])
    assert "sources" in invalid[3]
    assert "No source has the key “no-such-source”." in str(invalid[4]["sources"])
    assert "confirm_form" not in preview.context  # nothing to confirm
    content = preview.content.decode()
    assert "two capital letters" in content and "Name at least one source" in content
    assert not Participant.objects.exists()


def test_meetings_and_agenda_items_import_by_slug_and_code(editor_client, source):
    ParticipantFactory(code="BW", name="Botswana")
    meetings = csv(
        [
            ["slug", "kind", "title", "host", "city", "country", "start_date", "end_date",
             "chair", "communique_adopted", "summary", "sources"],
            ["2022-intersessional-kasane", "intersessional", "", "BW", "Kasane", "Botswana",
             "2022-06-20", "2022-06-24", "BW", "", "", "kp-website"],
        ]
    )  # fmt: skip
    confirm(editor_client, Meeting, upload(editor_client, Meeting, meetings))
    kasane = Meeting.objects.get()
    assert (kasane.host.code, kasane.city) == ("BW", "Kasane")

    items = csv(
        [
            ["meeting", "title", "description", "time_slot_minutes", "proposers",
             "observer_proposers", "proposers_note", "sources"],
            ["2022-intersessional-kasane", "Ukraine", "", "60", "BW", "", "", "kp-website"],
        ]
    )  # fmt: skip
    confirm(editor_client, AgendaItem, upload(editor_client, AgendaItem, items))
    item = AgendaItem.objects.get()
    assert (item.meeting, item.time_slot_minutes) == (kasane, 60)
    assert [p.code for p in item.proposers.all()] == ["BW"]


def test_imported_positions_run_the_engine(editor_client, source):
    decision = DecisionFactory(slug="2022-kasane-ukraine-item", on_agenda_item=True)
    ParticipantFactory(code="RU", name="Russia")
    ParticipantFactory(code="UA", name="Ukraine")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["decision", "participant", "observer", "stance", "reason", "letter", "sources"])
    sheet.append(["2022-kasane-ukraine-item", "RU", None, "objection", "Out of scope", None,
                  "kp-website"])  # fmt: skip
    sheet.append(["2022-kasane-ukraine-item", "UA", None, "support", None, None, "kp-website"])
    content = io.BytesIO()
    book.save(content)

    preview = upload(editor_client, Position, content.getvalue(), XLSX, "positions.xlsx")
    assert not preview.context["result"].has_validation_errors()
    assert confirm(editor_client, Position, preview).status_code == 302

    decision.refresh_from_db()
    assert decision.positions.count() == 2
    assert decision.outcome == Decision.Outcome.BLOCKED
    decision.agenda_item.refresh_from_db()
    assert decision.agenda_item.removed_by == decision


def test_positions_naming_an_unknown_participant_are_refused(editor_client, source):
    DecisionFactory(slug="2022-kasane-ukraine-item")
    content = csv(
        [
            ["decision", "participant", "observer", "stance", "reason", "letter", "sources"],
            ["2022-kasane-ukraine-item", "XX", "", "objection", "", "", "kp-website"],
        ]
    )
    preview = upload(editor_client, Position, content)

    # The code identifies the row, so the row cannot even be looked up: an error on its line.
    ((line, (error,)),) = preview.context["result"].row_errors()
    assert (line, str(error.error)) == (1, "No participant has the code “XX”.")
    assert "Line number: 1 - No participant has the code “XX”." in preview.content.decode()
    assert "confirm_form" not in preview.context
    assert not Position.objects.exists()


def test_export_any_list_as_csv_and_excel_with_public_identifiers(editor_client):
    position = PositionFactory(stance="objection", participant__code="RU")
    # Another list with no import at all exports too.
    MeetingFactory(slug="2023-plenary-victoria-falls")

    response = editor_client.post(
        admin_url(Position, "export"),
        {"format": CSV, "resource": "0", **_all_fields(editor_client, Position)},
    )
    assert response.status_code == 200
    rows = tablib.Dataset().load(response.content.decode(), format="csv")
    assert rows.headers[:4] == ["decision", "participant", "observer", "stance"]
    assert rows[0][:4] == (position.decision.slug, "RU", "", "objection")

    response = editor_client.post(
        admin_url(Meeting, "export"),
        {"format": XLSX, "resource": "0", **_all_fields(editor_client, Meeting)},
    )
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert "2023-plenary-victoria-falls" in [cell.value for cell in sheet["A"]]


def test_viewer_exports_but_cannot_import(viewer_client, source):
    assert viewer_client.get(admin_url(Participant, "export")).status_code == 200
    assert viewer_client.get(admin_url(Participant, "import")).status_code == 403
    content = csv([["code", "name", "kind", "sources"], ["NA", "Namibia", "state", "kp-website"]])
    assert upload(viewer_client, Participant, content).status_code == 403
    assert not Participant.objects.exists()
    changelist = viewer_client.get(admin_url(Participant, "changelist")).content.decode()
    assert "Export" in changelist and ">Import<" not in changelist


def _all_fields(client, model) -> dict:
    """The export form's field checkboxes, all ticked, as the form renders them."""
    form = client.get(admin_url(model, "export")).context["form"]
    return {
        name: "on"
        for name, field in form.fields.items()
        if name not in {"format", "resource", "export_items"}
    }
