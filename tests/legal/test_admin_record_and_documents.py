"""The admin shows the record's signed checkpoints and the documents read-only: nobody adds,
changes or deletes them there (the record and the documents change through their domain)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from incidents.legal.record_signing import sign_checkpoint
from incidents.models import Document, RecordCheckpoint


def test_checkpoints_and_documents_are_listed_and_read_only(users: dict[str, Any], incident_in):
    incident = incident_in("restored")
    checkpoint = sign_checkpoint(incident=incident)
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(users["admin"])
    listed = admin.get("/admin/incidents/recordcheckpoint/")
    assert listed.status_code == 200
    assert incident.reference in listed.content.decode()
    shown = admin.get(f"/admin/incidents/recordcheckpoint/{checkpoint.pk}/change/")
    assert shown.status_code == 200
    assert 'type="submit"' not in shown.content.decode().split('id="content-main"', 1)[1]
    assert admin.get("/admin/incidents/recordcheckpoint/add/").status_code == 403
    assert admin.get("/admin/incidents/document/").status_code == 200
    assert admin.get("/admin/incidents/document/add/").status_code == 403
    deleted = admin.post(
        f"/admin/incidents/recordcheckpoint/{checkpoint.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert RecordCheckpoint.objects.filter(pk=checkpoint.pk).exists()
    assert not Document.objects.exists()
