"""Who reads and writes documents, and what bad input hears: every role that reads the incident
reads its documents (need to know: a restricted incident is a 404 to others), legal and admins
write them (403 before any complaint about the body), and no input is a 500."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import AccessRecord, Document, Event
from incidents.need_to_know import change_restriction
from tests.conftest import client_for, make_user
from tests.legal.documents_case import document_url, documents_url, draft, issue, pdf_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted(api: Any, incident_in: Any) -> tuple[Any, dict]:
    incident = incident_in("restored")
    return incident, draft(api("legal"), incident.reference, "executive_brief", "en")


@pytest.mark.parametrize("role", ["engineer", "legal", "executive", "admin"])
def test_every_role_reads_documents_and_their_pdf(api, drafted, role):
    incident, body = drafted
    client = api(role)
    listed = client.get(documents_url(incident.reference))
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [body["id"]]
    one = client.get(document_url(incident.reference, body["id"]))
    assert one.status_code == 200 and one["ETag"] == f'"{one.json()["version"]}"'
    assert one.json()["may_edit"] is (role in ("legal", "admin"))
    assert client.get(pdf_url(incident.reference, body["id"])).status_code == 200


@pytest.mark.parametrize("role", ["engineer", "executive"])
def test_only_legal_and_admins_write_documents(api, drafted, role):
    incident, body = drafted
    client = api(role)
    # 403 even with a body that would be refused anyway.
    created = client.post(documents_url(incident.reference), {"kind": "nope"}, format="json")
    edited = client.patch(
        document_url(incident.reference, body["id"]), {"sections": 1}, format="json"
    )
    issued = client.post(document_url(incident.reference, body["id"], "issue/"), [], format="json")
    assert (created.status_code, edited.status_code, issued.status_code) == (403, 403, 403)
    assert Document.objects.get(pk=body["id"]).state == Document.DRAFT


def test_admins_write_documents(api, drafted):
    incident, body = drafted
    assert issue(api("admin"), incident.reference, body["id"])["issued_by"] == "admin"


def test_a_user_without_a_role_reads_nothing(api, drafted):
    incident, body = drafted
    client = api("norole")
    assert client.get(documents_url(incident.reference)).status_code == 403
    assert client.get(pdf_url(incident.reference, body["id"])).status_code == 403


def test_a_restricted_incident_hides_its_documents(api, drafted, users):
    incident, body = drafted
    change_restriction(incident, actor=users["admin"], restricted=True, members=["legal"])
    outsider = client_for(make_user("engineer2", "engineer"))
    for url in (
        documents_url(incident.reference),
        document_url(incident.reference, body["id"]),
        pdf_url(incident.reference, body["id"]),
    ):
        assert outsider.get(url).status_code == 404
        assert api("executive").get(url).status_code == 404
        assert api("legal").get(url).status_code == 200
        assert api("engineer").get(url).status_code == 200  # its commander
    issue_url = document_url(incident.reference, body["id"], "issue/")
    assert outsider.post(issue_url, {}, format="json").status_code == 404


def test_a_document_of_another_incident_is_not_found_here(api, drafted, incident_in):
    _incident, body = drafted
    other = incident_in("restored")
    assert api("legal").get(document_url(other.reference, body["id"])).status_code == 404
    assert api("legal").get(pdf_url(other.reference, body["id"])).status_code == 404


def test_downloading_a_document_is_in_the_access_log(api, drafted):
    incident, body = drafted
    api("executive").get(pdf_url(incident.reference, body["id"]))
    read = AccessRecord.objects.get(incident=incident, kind="document.exported")
    assert (read.username, read.target) == ("executive", f"document:{body['id']}")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "affidavit", "language": "en"}, "kind"),
        ({"kind": "executive_brief", "language": "de"}, "language"),
        ({"kind": "executive_brief"}, "language"),
        ({"kind": "complaint_letter", "language": "en"}, "language"),
        ({"kind": "executive_brief", "language": "en", "authority": "cyber_police"}, "authority"),
        ({"kind": "complaint_letter", "language": "fa", "authority": "other"}, "authority"),
        ({"kind": "executive_brief", "language": "en", "sha256": "0" * 64}, "sha256"),
        ({"kind": "executive_brief", "language": "en", "colour": "red"}, "colour"),
        ({"kind": 3, "language": "en"}, "kind"),
        ({"kind": "gdpr33_supplement", "language": "en", "supersedes": "x"}, "supersedes"),
        ({"kind": "gdpr33_supplement", "language": "en", "supersedes": 2**70}, "supersedes"),
    ],
)
def test_bad_drafts_are_400_naming_the_field(api, incident_in, body, field):
    incident = incident_in("restored")
    response = api("legal").post(documents_url(incident.reference), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Document.objects.filter(incident=incident).exists()


@pytest.mark.parametrize("body", [[], "text", None, 7])
def test_a_draft_body_that_is_no_object_is_400(api, incident_in, body):
    incident = incident_in("restored")
    response = api("legal").post(documents_url(incident.reference), body, format="json")
    assert response.status_code == 400 and "detail" in response.json()


def test_superseding_something_not_issued_is_400(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    brief = draft(legal, incident.reference, "executive_brief", "en")
    notification = draft(legal, incident.reference, "gdpr33_notification", "en")
    issue(legal, incident.reference, notification["id"])
    for supersedes in (brief["id"], notification["id"], 999999):
        # A draft; a notification (not a supplement); nothing at all.
        response = legal.post(
            documents_url(incident.reference),
            {"kind": "gdpr33_supplement", "language": "en", "supersedes": supersedes},
            format="json",
        )
        assert response.status_code == 400 and "supersedes" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"sections": {"nonsense": "x"}},
        {"sections": {"what_happened": 12}},
        {"sections": {"what_happened": None}},
        {"sections": {"what_happened": "x" * 20001}},
        {"sections": {"what_happened": "x" * 4001}},  # this section's own limit
        {"sections": ["what_happened"]},
        {"sections": "what_happened"},
        {"state": "issued"},
        {"sha256": "0" * 64},
        {"authority": "cyber_police"},  # a brief has no addressee
        {"unknown": 1},
    ],
)
def test_bad_edits_are_400_and_change_nothing(api, drafted, body):
    incident, drafted_body = drafted
    url = document_url(incident.reference, drafted_body["id"])
    response = api("legal").patch(url, body, format="json")
    assert response.status_code == 400, response.json()
    assert Document.objects.get(pk=drafted_body["id"]).sections == drafted_body["sections"]
    assert not Event.objects.filter(kind="document.edited").exists()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"fulfil": "perhaps"}, {}),
        ({"note": 5}, {}),
        ({"note": "x" * 2001}, {}),
        ({"extra": True}, {}),
        ([], {}),
        ({}, {"HTTP_IF_MATCH": "version three"}),
    ],
)
def test_bad_issues_are_400_and_issue_nothing(api, drafted, body, headers):
    incident, drafted_body = drafted
    url = document_url(incident.reference, drafted_body["id"], "issue/")
    response = api("legal").post(url, body, format="json", **headers)
    assert response.status_code == 400, response.json()
    assert Document.objects.get(pk=drafted_body["id"]).state == Document.DRAFT


def test_unknown_ids_and_references_are_json_404s(api, drafted):
    incident, _body = drafted
    legal = api("legal")
    for url in (
        document_url(incident.reference, 2**70),
        pdf_url(incident.reference, 2**70),
        document_url(incident.reference, 424242, "issue/"),
        documents_url("INC-1999-9999"),
    ):
        response = legal.get(url) if "issue" not in url else legal.post(url, {}, format="json")
        assert response.status_code == 404 and "detail" in response.json()


def test_a_complaint_letter_changes_its_addressee_but_not_its_language(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "complaint_letter", "fa")
    url = document_url(incident.reference, body["id"])
    moved = legal.patch(url, {"authority": "cybercrime_prosecutor"}, format="json")
    assert moved.status_code == 200 and moved.json()["authority"] == "cybercrime_prosecutor"
    assert legal.patch(url, {"language": "en"}, format="json").status_code == 400
    event = Event.objects.get(incident=incident, kind="document.edited")
    assert event.data["authority"] == {"from": "cyber_police", "to": "cybercrime_prosecutor"}
