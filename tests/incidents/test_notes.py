"""Investigation notes: anyone working the incident writes them on its timeline, in any state;
they are part of the hash-chained record, change nothing else, and never leave for Telegram
(tests/notifier/test_message_privacy.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from incidents.errors import InvalidChange, RoleForbidden
from incidents.legal.record import verify_record
from incidents.models import Event
from incidents.notes import NOTE_MAX_LENGTH, add_note
from tests.conftest import client_for


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def notes_url(incident) -> str:
    return f"/api/incidents/{incident.reference}/notes/"


@pytest.mark.parametrize("role", ["engineer", "legal", "admin"])
def test_responders_add_a_note_that_lands_on_the_timeline(api, incident_in, role):
    incident = incident_in("scoping")
    text = "02:14 the phishing mail reached three mailboxes.\nQuarantined at 02:20."
    response = api(role).post(notes_url(incident), {"text": f"  {text}\n"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "note"
    assert body["data"] == {"text": text}  # trimmed, line breaks kept
    assert body["incident"] == incident.reference
    timeline = api("executive").get(f"/api/incidents/{incident.reference}/timeline/").json()
    assert timeline["results"][-1]["seq"] == body["seq"]
    assert timeline["results"][-1]["actor"] == role


def test_a_note_changes_neither_the_incident_nor_its_version(api, incident_in):
    incident = incident_in("restoring")
    response = api("engineer").post(notes_url(incident), {"text": "Keys rotated."}, format="json")
    assert response.status_code == 201
    after = api("engineer").get(f"/api/incidents/{incident.reference}/")
    assert after["ETag"] == f'"{incident.version}"'
    assert after.json()["state"] == "restoring"


@pytest.mark.parametrize("state", ["closed", "dismissed"])
def test_notes_can_be_added_after_the_incident_ended(api, incident_in, state):
    incident = incident_in(state)
    response = api("legal").post(
        notes_url(incident), {"text": "The authority confirmed receipt."}, format="json"
    )
    assert response.status_code == 201


def test_executive_may_not_add_notes_even_with_a_bad_body(api, incident_in):
    incident = incident_in("scoping")
    before = Event.objects.count()
    for body in ({"text": "Board asked for an update."}, {}, {"text": 7}):
        response = api("executive").post(notes_url(incident), body, format="json")
        assert response.status_code == 403
        assert "detail" in response.json()
    assert Event.objects.count() == before


def test_user_without_a_role_and_anonymous_may_not_add_notes(api, incident_in):
    incident = incident_in("scoping")
    assert api("norole").post(notes_url(incident), {"text": "x"}, format="json").status_code == 403
    anonymous = client_for(None).post(notes_url(incident), {"text": "x"}, format="json")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   \n "},
        {"text": None},
        {"text": 12},
        {"text": ["a"]},
        {"text": "x" * (NOTE_MAX_LENGTH + 1)},
        {"text": "ok", "kind": "created"},
        {"text": "nul\x00byte"},
    ],
)
def test_bad_notes_are_refused_with_field_errors_and_write_nothing(api, incident_in, body):
    incident = incident_in("scoping")
    before = Event.objects.count()
    response = api("engineer").post(notes_url(incident), body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) & {"text", "kind"}
    assert Event.objects.count() == before


def test_note_on_an_unknown_incident_is_404(api, db):
    response = api("engineer").post(
        "/api/incidents/INC-2026-9999/notes/", {"text": "x"}, format="json"
    )
    assert response.status_code == 404
    assert "detail" in response.json()


def test_notes_are_part_of_the_verified_record(api, incident_in):
    incident = incident_in("scoping")
    text = "Found the entry point."
    response = api("engineer").post(notes_url(incident), {"text": text}, format="json")
    assert response.status_code == 201, response.content
    note = Event.objects.get(kind="note", incident=incident, data={"text": text})
    assert note.seq == Event.objects.latest("seq").seq
    run = verify_record()
    assert run.ok, run.detail
    assert run.last_seq == note.seq


def test_an_edited_note_breaks_the_verified_record(api, incident_in):
    incident = incident_in("scoping")
    api("engineer").post(notes_url(incident), {"text": "Found the entry point."}, format="json")
    note = Event.objects.get(kind="note", incident=incident)
    with pytest.raises(PermissionError):
        Event.objects.filter(seq=note.seq).update(data={"text": "Nothing found."})
    # Past the ORM, as someone with database access would edit it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET data = %s WHERE seq = %s",
            ['{"text": "Nothing found."}', note.seq],
        )
    run = verify_record()
    assert not run.ok
    assert run.broken_seq == note.seq


def test_domain_refuses_blank_overlong_and_read_only_roles(users, incident_in):
    incident = incident_in("detected")
    with pytest.raises(InvalidChange):
        add_note(incident, actor=users["engineer"], text=" \t")
    with pytest.raises(InvalidChange):
        add_note(incident, actor=users["engineer"], text="y" * (NOTE_MAX_LENGTH + 1))
    with pytest.raises(RoleForbidden):
        add_note(incident, actor=users["executive"], text="seen")
    assert not Event.objects.filter(kind="note").exists()
