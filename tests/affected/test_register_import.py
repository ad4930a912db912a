"""Importing the affected people from a CSV file (POST /api/incidents/{ref}/affected-people/
import/): UTF-8 with or without BOM, the columns checked, every wrong line reported and then
nothing imported, dry runs, duplicates skipped, the size limit, who may, and every status code
the route gives."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.affected.importing import MAX_REPORTED_ERRORS
from incidents.api.register import ImportTooLarge, ImportUploadHandler
from incidents.lifecycle import apply_transition
from incidents.models import AffectedPerson, Event
from incidents.need_to_know import change_restriction
from tests.affected.register_helpers import HEADER, PEOPLE, csv_bytes, import_csv, listed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def register_events(incident: Any) -> list[Event]:
    return list(Event.objects.filter(incident=incident, kind__startswith="register."))


@pytest.mark.parametrize("bom", [False, True])
def test_legal_imports_a_csv_with_or_without_bom(api, incident_in, bom):
    incident = incident_in("scoping")
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE, bom=bom))
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "imported": 3,
        "skipped": 0,
        "errors": [],
        "error_count": 0,
        "dry_run": False,
    }
    people = listed(api, incident.reference)
    assert [(p["customer_id"], p["email"], p["mobile"], p["language"]) for p in people] == [
        ("C-1001", "Ali.Rezaei@example.com", "+989121234567", "fa"),
        ("C-1002", "sara@example.org", "+989127654321", "en"),
        ("C-1003", None, "+989351112233", "fa"),
    ]
    assert people[0]["name"] == "علی رضایی" and people[2]["name"] == ""
    [event] = register_events(incident)
    assert (event.kind, event.data, event.actor_username) == (
        "register.imported",
        {"imported": 3, "skipped": 0},
        "legal",
    )


def test_columns_come_in_any_order_and_case_and_only_customer_id_and_a_contact_are_needed(
    api, incident_in
):
    incident = incident_in("scoping")
    content = csv_bytes([("09121234567", "C-1")], header=(" Mobile", "CUSTOMER_ID "))
    response = import_csv(api, incident.reference, content)
    assert response.status_code == 200, response.json()
    [person] = listed(api, incident.reference)
    assert (person["customer_id"], person["mobile"], person["email"], person["language"]) == (
        "C-1",
        "+989121234567",
        None,
        "fa",
    )


def test_an_extra_column_is_refused_by_name_and_nothing_is_imported(api, incident_in):
    incident = incident_in("scoping")
    content = csv_bytes([(*p, "1990") for p in PEOPLE], header=(*HEADER, "Birth year"))
    response = import_csv(api, incident.reference, content)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [
        {
            "line": 1,
            "field": "Birth year",
            "detail": 'Unknown column "Birth year"; the columns are: '
            "customer_id, name, email, mobile, language.",
        }
    ]
    assert body["imported"] == 0 and body["error_count"] == 1 and "nothing" in body["detail"]
    assert not AffectedPerson.objects.exists() and not register_events(incident)


@pytest.mark.parametrize(
    ("header", "field", "detail"),
    [
        (("name", "email"), "customer_id", "This column is required."),
        (("customer_id", "name"), None, "The file needs an email or a mobile column (or both)."),
        (("customer_id", "email", "Email"), "email", "This column appears more than once."),
        (
            ("customer_id;email;mobile",),
            "customer_id;email;mobile",
            "Columns must be separated by commas; the columns are: "
            "customer_id, name, email, mobile, language.",
        ),
    ],
)
def test_a_wrong_header_is_refused_on_line_one(api, incident_in, header, field, detail):
    incident = incident_in("scoping")
    response = import_csv(api, incident.reference, csv_bytes([], header=header))
    assert response.status_code == 400
    assert {"line": 1, "field": field, "detail": detail} in response.json()["errors"]
    assert not AffectedPerson.objects.exists()


def test_every_wrong_line_is_reported_with_line_field_and_detail_and_nothing_is_imported(
    api, incident_in
):
    incident = incident_in("scoping")
    content = (
        b"customer_id,name,email,mobile,language\r\n"
        b"C-1,Ali,ali@example.com,,fa\r\n"  # line 2: fine
        b"\r\n"  # line 3: blank, ignored
        b"C-2,Sara,sara@,02112345678,fa\r\n"  # line 4: email and mobile wrong
        b',"Reza\r\nRezaei",reza@example.com,,fa\r\n'  # lines 5-6: no id; a line break in a name
        b"C-4,Mina,mina@example.com,,de\r\n"  # line 7: language
        b"C-5,Omid,,,\r\n"  # line 8: no way to reach them
        b"C-6,too,many,fields,fa,x\r\n"  # line 9
        b",,,,\r\n"  # line 10: empty cells, ignored
        b"C-7,Nima,nima@example.com,,en\r\n"  # line 11: fine
    )
    response = import_csv(api, incident.reference, content)
    assert response.status_code == 400
    body = response.json()
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (4, "email"),
        (4, "mobile"),
        (5, "customer_id"),
        (5, "name"),
        (7, "language"),
        (8, "email"),
        (9, None),
    ]
    assert body["errors"][0]["detail"] == "Enter a valid email address."
    assert body["errors"][-1]["detail"] == "This line has 6 fields; the header has 5."
    assert (body["imported"], body["skipped"], body["error_count"]) == (0, 0, 7)
    assert body["detail"] == "7 problems found; nothing was imported."
    assert not AffectedPerson.objects.exists() and not register_events(incident)


def test_a_wrong_last_line_of_many_still_imports_nothing(api, incident_in):
    incident = incident_in("scoping")
    rows = [(f"C-{i}", "", f"p{i}@example.com", "", "") for i in range(1200)]
    rows.append(("C-last", "", "not-an-email", "", ""))
    response = import_csv(api, incident.reference, csv_bytes(rows))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"line": 1202, "field": "email", "detail": "Enter a valid email address."}
    ]
    assert not AffectedPerson.objects.exists()


def test_errors_listed_are_capped_but_all_counted(api, incident_in):
    incident = incident_in("scoping")
    rows = [(f"C-{i}", "", "wrong", "", "") for i in range(MAX_REPORTED_ERRORS + 50)]
    body = import_csv(api, incident.reference, csv_bytes(rows)).json()
    assert len(body["errors"]) == MAX_REPORTED_ERRORS
    assert body["error_count"] == MAX_REPORTED_ERRORS + 50


@pytest.mark.parametrize(
    ("content", "line", "detail"),
    [
        (
            b"customer_id,email\r\nC-1,ali@example.com\r\nC-2,\xff\xfe@example.com\r\n",
            3,
            "This line is not UTF-8 text (save the file as CSV UTF-8).",
        ),
        (
            b"customer_id,email\r\nC-1," + b"a" * 9000 + b"@example.com\r\nC-2,b@example.com\r\n",
            2,
            "This line is longer than 8192 bytes.",
        ),
        (
            b'customer_id,email\r\nC-1,"ali@example.com\r\nC-2,b@example.com\r\n',
            2,
            "This is not well-formed CSV (a quote opened and not closed?); the rest of the "
            "file was not read.",
        ),
        (
            b"\r\n\r\ncustomer_id,email\r\n",
            1,
            "The first line must name the columns (customer_id, name, email, mobile, "
            "language); this file's is blank or the file is empty.",
        ),
    ],
)
def test_a_file_that_is_not_clean_csv_is_refused_with_its_line(
    api, incident_in, content, line, detail
):
    incident = incident_in("scoping")
    response = import_csv(api, incident.reference, content)
    assert response.status_code == 400
    assert {"line": line, "field": None, "detail": detail} in response.json()["errors"]
    assert not AffectedPerson.objects.exists()


def test_a_dry_run_checks_and_counts_but_writes_nothing(api, incident_in):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE[:1]))
    events = Event.objects.count()
    rows = [*PEOPLE, PEOPLE[1]]  # C-1001 is listed already, C-1002 twice in the file
    response = import_csv(api, incident.reference, csv_bytes(rows), dry_run="1")
    assert response.status_code == 200
    assert response.json() == {
        "imported": 2,
        "skipped": 2,
        "errors": [],
        "error_count": 0,
        "dry_run": True,
    }
    assert AffectedPerson.objects.count() == 1 and Event.objects.count() == events
    wrong = import_csv(api, incident.reference, csv_bytes([("C-9", "", "x", "", "")]), dry_run="1")
    assert wrong.status_code == 400 and wrong.json()["error_count"] == 1


def test_people_already_listed_or_repeated_in_the_file_are_skipped(api, incident_in):
    incident = incident_in("scoping")
    first = import_csv(api, incident.reference, csv_bytes(PEOPLE[:2]))
    assert first.json()["imported"] == 2
    again = [
        ("C-1001", "Ali again", "other@example.com", "", "fa"),  # listed already
        ("C-2000", "New", "new@example.com", "", "fa"),
        ("C-2000", "New twice", "new2@example.com", "", "fa"),  # repeated: the first wins
    ]
    response = import_csv(api, incident.reference, csv_bytes(again))
    assert response.status_code == 200
    assert (response.json()["imported"], response.json()["skipped"]) == (1, 2)
    people = {p["customer_id"]: p for p in listed(api, incident.reference)}
    assert people["C-1001"]["name"] == "علی رضایی"
    assert people["C-2000"]["email"] == "new@example.com"
    assert [e.data for e in register_events(incident)] == [
        {"imported": 2, "skipped": 0},
        {"imported": 1, "skipped": 2},
    ]


def test_an_import_of_only_known_people_changes_nothing_and_logs_no_event(api, incident_in):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE))
    assert (response.json()["imported"], response.json()["skipped"]) == (0, 3)
    assert len(register_events(incident)) == 1


def test_the_same_customer_in_another_incident_is_another_entry(api, incident_in):
    one, two = incident_in("scoping"), incident_in("scoping")
    import_csv(api, one.reference, csv_bytes(PEOPLE))
    assert import_csv(api, two.reference, csv_bytes(PEOPLE)).json()["imported"] == 3


@pytest.mark.parametrize(("role", "status"), [("legal", 200), ("admin", 200)])
def test_legal_and_admins_import(api, incident_in, role, status):
    incident = incident_in("scoping")
    assert import_csv(api, incident.reference, csv_bytes(PEOPLE), role=role).status_code == status


@pytest.mark.parametrize("role", ["engineer", "executive", "norole"])
def test_other_roles_are_refused_before_the_file_is_read(api, incident_in, role):
    incident = incident_in("scoping")
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE), role=role)
    assert response.status_code == 403 and response.json()["detail"]
    assert not AffectedPerson.objects.exists()


def test_signed_out_is_a_401(incident_in):
    from rest_framework.test import APIClient

    incident = incident_in("scoping")
    upload = SimpleUploadedFile("p.csv", csv_bytes(PEOPLE))
    url = f"/api/incidents/{incident.reference}/affected-people/import/"
    assert APIClient().post(url, {"file": upload}, format="multipart").status_code == 401


def test_a_missing_or_restricted_incident_is_a_404(api, incident_in, users):
    assert import_csv(api, "INC-2099-9999", csv_bytes(PEOPLE)).status_code == 404
    incident = incident_in("scoping")
    change_restriction(incident, actor=users["admin"], restricted=True, members=["executive"])
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE))
    assert response.status_code == 404
    assert response.json() == api("legal").get("/api/incidents/INC-2099-9999/").json()
    assert import_csv(api, incident.reference, csv_bytes(PEOPLE), role="admin").status_code == 200


@pytest.mark.parametrize("state", ["closed", "dismissed"])
def test_a_closed_or_dismissed_incident_takes_no_more_people(api, incident_in, state):
    incident = incident_in(state)
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE))
    assert response.status_code == 409 and state in response.json()["detail"]
    assert not AffectedPerson.objects.exists()


def test_a_file_above_the_limit_is_a_413_and_nothing_is_kept(api, incident_in, settings):
    incident = incident_in("scoping")
    content = csv_bytes(PEOPLE)
    settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES = len(content) - 1
    response = import_csv(api, incident.reference, content)
    assert response.status_code == 413
    assert response.json()["max_bytes"] == len(content) - 1
    assert "AFFECTED_PEOPLE_IMPORT_MAX_BYTES" in response.json()["detail"]
    assert not AffectedPerson.objects.exists()
    settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES = len(content)
    assert import_csv(api, incident.reference, content).status_code == 200


def test_a_body_announced_above_the_limit_is_refused_before_it_is_read(settings):
    settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES = 1000
    handler = ImportUploadHandler()
    with pytest.raises(ImportTooLarge):
        handler.handle_raw_input(None, {}, 1000 + 65536 + 1, b"boundary", "utf-8")
    handler.handle_raw_input(None, {}, 1000 + 65536, b"boundary", "utf-8")


def test_json_instead_of_a_file_is_a_415(api, incident_in):
    incident = incident_in("scoping")
    url = f"/api/incidents/{incident.reference}/affected-people/import/"
    response = api("legal").post(url, json.dumps({"file": "x"}), content_type="application/json")
    assert response.status_code == 415 and response.json()["detail"]


def test_no_file_two_files_or_a_bad_dry_run_is_a_400(api, incident_in):
    incident = incident_in("scoping")
    url = f"/api/incidents/{incident.reference}/affected-people/import/"
    client = api("legal")
    no_file = client.post(url, {}, format="multipart")
    assert no_file.status_code == 400 and "file" in no_file.json()
    other = client.post(url, {"other": "x"}, format="multipart")
    assert other.status_code == 400 and other.json()["other"] == ["Unknown field."]
    empty = import_csv(api, incident.reference, b"")
    assert empty.status_code == 400 and "file" in empty.json()
    files = [SimpleUploadedFile(n, csv_bytes(PEOPLE)) for n in ("a.csv", "b.csv")]
    two = client.post(url, {"file": files}, format="multipart")
    assert two.status_code == 400 and "file" in two.json()
    bad = import_csv(api, incident.reference, csv_bytes(PEOPLE), dry_run="maybe")
    assert bad.status_code == 400 and "dry_run" in bad.json() and bad.json()["detail"]
    assert not AffectedPerson.objects.exists()


def test_an_import_under_the_lock_skips_a_person_added_since_the_check(
    api, incident_in, users, monkeypatch
):
    """The second pass decides again under the incident's lock: someone who was added between
    the check and the write is skipped, not inserted twice."""
    from incidents.affected import importing
    from incidents.affected.register import add_person

    incident = incident_in("scoping")
    write = importing._write

    def added_meanwhile(*args: Any, **kwargs: Any) -> Any:
        add_person(
            incident, {"customer_id": "C-1002", "email": "s@example.org"}, actor=users["admin"]
        )
        return write(*args, **kwargs)

    monkeypatch.setattr(importing, "_write", added_meanwhile)
    response = import_csv(api, incident.reference, csv_bytes(PEOPLE))
    assert (response.json()["imported"], response.json()["skipped"]) == (2, 1)
    assert AffectedPerson.objects.filter(incident=incident).count() == 3


def test_reopened_incident_takes_people_again(api, incident_in, users):
    incident = incident_in("dismissed")
    incident, _ = apply_transition(
        incident, "reopen", actor=users["engineer"], payload={"reason": "r"}
    )
    assert import_csv(api, incident.reference, csv_bytes(PEOPLE)).status_code == 200


def test_a_wrong_file_is_refused_before_any_write_transaction(api, incident_in):
    """The first pass checks without a lock or a transaction: a wrong file never takes the
    incident's row (nor, on SQLite, the database's one writer)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = incident_in("scoping")
    rows = [*PEOPLE, ("C-9", "", "wrong", "", "")]
    client = api("legal")
    with CaptureQueriesContext(connection) as queries:
        assert (
            import_csv(lambda _role: client, incident.reference, csv_bytes(rows)).status_code == 400
        )
    written = [q["sql"] for q in queries if q["sql"].split()[0] in ("SAVEPOINT", "INSERT")]
    assert written == []


class ChangingFile(io.BytesIO):
    """A file whose bytes change once it has been read through."""

    def __init__(self, first: bytes, then: bytes) -> None:
        super().__init__(first)
        self.then, self.reads = then, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self.reads += 1
        if self.reads == 2:
            super().__init__(self.then)
        return super().seek(offset, whence)


def test_what_is_written_is_what_was_checked(incident_in, users):
    """The file is read once: the write pass inserts the rows sealed by the checking pass, so
    bytes that change afterwards (or a second reading that differs) cannot slip in unchecked."""
    from incidents.affected.importing import import_people

    incident = incident_in("scoping")
    later = csv_bytes([("C-9", "", "not-an-email", "", "")])
    result = import_people(incident, ChangingFile(csv_bytes(PEOPLE), later), actor=users["legal"])
    assert (result.imported, result.error_count) == (3, 0)
    assert AffectedPerson.objects.filter(incident=incident).count() == 3
