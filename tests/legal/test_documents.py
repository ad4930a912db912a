"""Documents (issue 19, section 2): each kind drafted from the record, edited, issued and
downloaded byte-identical; the issued hash in the record; editions superseding one another; a
GDPR-33 supplement listing only what changed; the legal deadline fulfilled citing the
document."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from incidents.legal.documents import document_pdf
from incidents.lifecycle import update_incident
from incidents.models import Document, Event, Obligation
from tests.conftest import is_postgres
from tests.legal.documents_case import (
    document_url,
    documents_url,
    draft,
    issue,
    pdf_text,
    pdf_url,
    squeezed,
    upload,
)

pytestmark = pytest.mark.django_db


def drafted_and_issued(client: Any, reference: str, kind: str) -> dict:
    return issue(client, reference, draft(client, reference, kind, "en")["id"])


@pytest.mark.parametrize(
    ("kind", "language", "section", "words"),
    [
        ("gdpr33_notification", "en", "categories", "Approximate number of data subjects"),
        ("gdpr33_notification", "fa", "categories", "شمار تقریبی اشخاص موضوع داده: ۱۲۰ نفر"),
        ("complaint_letter", "fa", "facts", "احتراماً، به استحضار می‌رساند"),
        ("executive_brief", "en", "who_is_affected", "About 120 people"),
        ("executive_brief", "fa", "who_is_affected", "حدود ۱۲۰ نفر"),
    ],
)
def test_each_kind_is_drafted_from_the_record(api, incident_in, kind, language, section, words):
    incident = incident_in("restored")
    body = draft(api("legal"), incident.reference, kind, language)
    assert (body["state"], body["edition"], body["kind"], body["language"]) == (
        "draft",
        1,
        kind,
        language,
    )
    assert words in body["sections"][section]
    assert body["sha256"] == "" and body["may_edit"] is True
    event = Event.objects.get(incident=incident, kind="document.drafted")
    assert event.data["document"] == {
        "id": body["id"],
        "kind": kind,
        "language": language,
        "edition": 1,
    }


def test_the_complaint_letter_names_its_addressee_and_the_evidence(api, incident_in, media):
    incident = incident_in("restored")
    legal = api("legal")
    proof = upload(legal, incident.reference, "access.log", b"GET /admin 200\n")
    body = draft(
        legal, incident.reference, "complaint_letter", "fa", authority="cybercrime_prosecutor"
    )
    assert "دادسرای ویژه رسیدگی به جرایم رایانه‌ای" in body["sections"]["addressee"]
    assert "۱ فقره فایل" in body["sections"]["facts"]
    text = squeezed(pdf_text(document_pdf(Document.objects.get(pk=body["id"]))))
    assert proof["sha256"] in text.replace(" ", "")
    assert "access.log" in text


def test_a_complaint_letter_goes_to_the_cyber_police_by_default(api, incident_in):
    incident = incident_in("restored")
    body = draft(api("legal"), incident.reference, "complaint_letter", "fa")
    assert body["authority"] == "cyber_police"
    assert "پلیس فتا" in body["sections"]["addressee"]


def test_legal_edits_a_draft_with_if_match_and_the_edit_is_an_event(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    url = document_url(incident.reference, body["id"])
    edited = legal.patch(
        url,
        {"sections": {"what_happened": "A backup was copied out."}},
        format="json",
        HTTP_IF_MATCH=f'"{body["version"]}"',
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()["sections"]["what_happened"] == "A backup was copied out."
    # The other sections are kept as drafted.
    assert edited.json()["sections"]["who_is_affected"] == body["sections"]["who_is_affected"]
    assert edited["ETag"] == f'"{body["version"] + 1}"'
    stale = legal.patch(
        url,
        {"sections": {"what_happened": "Lost."}},
        format="json",
        HTTP_IF_MATCH=f'"{body["version"]}"',
    )
    assert stale.status_code == 412 and stale.json()["version"] == body["version"] + 1
    event = Event.objects.get(incident=incident, kind="document.edited")
    assert event.data["sections"] == ["what_happened"]
    # An edit that changes nothing writes nothing.
    same = legal.patch(
        url, {"sections": {"what_happened": "A backup was copied out."}}, format="json"
    )
    assert same.status_code == 200 and same.json()["version"] == body["version"] + 1
    assert Event.objects.filter(incident=incident, kind="document.edited").count() == 1


@pytest.mark.parametrize(
    ("kind", "language"),
    [
        ("gdpr33_notification", "en"),
        ("gdpr33_notification", "fa"),
        ("complaint_letter", "fa"),
        ("executive_brief", "en"),
    ],
)
def test_issuing_freezes_the_pdf_and_records_its_sha256(api, incident_in, kind, language):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, kind, language)
    issued = issue(legal, incident.reference, body["id"])
    assert issued["state"] == "issued" and issued["issued_by"] == "legal"
    assert len(issued["sha256"]) == 64 and issued["may_edit"] is False
    # Downloaded twice, by two roles, later: the same bytes, whose hash is the recorded one.
    first = legal.get(pdf_url(incident.reference, body["id"]))
    second = api("executive").get(pdf_url(incident.reference, body["id"]))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert hashlib.sha256(first.content).hexdigest() == issued["sha256"]
    assert first["X-Content-SHA256"] == issued["sha256"]
    assert first["Content-Type"] == "application/pdf"
    event = Event.objects.get(incident=incident, kind="document.issued")
    assert event.data["sha256"] == issued["sha256"]
    assert event.data["size"] == len(first.content)
    assert event.data["document"]["id"] == body["id"]


def test_the_record_changing_later_does_not_change_an_issued_document(api, incident_in, engineer):
    incident = incident_in("restoring")
    legal = api("legal")
    body = draft(legal, incident.reference, "gdpr33_notification", "en")
    issued = issue(legal, incident.reference, body["id"])
    before = legal.get(pdf_url(incident.reference, body["id"])).content
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 9000})
    after = legal.get(pdf_url(incident.reference, body["id"])).content
    assert after == before and hashlib.sha256(after).hexdigest() == issued["sha256"]
    assert "9,000" not in pdf_text(after)


def test_a_draft_pdf_is_typeset_now_and_marked_draft(api, incident_in, engineer):
    incident = incident_in("restoring")
    legal = api("legal")
    body = draft(legal, incident.reference, "gdpr33_notification", "en")
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 9000})
    response = api("executive").get(pdf_url(incident.reference, body["id"]))
    assert response.status_code == 200
    assert "DRAFT" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert "DRAFT" in text and "9,000" in text
    assert "X-Content-SHA256" not in response


def test_nothing_issued_is_edited_or_issued_again(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    issue(legal, incident.reference, body["id"])
    url = document_url(incident.reference, body["id"])
    edited = legal.patch(url, {"sections": {"what_happened": "Rewritten."}}, format="json")
    assert edited.status_code == 409 and edited.json()["state"] == "issued"
    again = legal.post(url + "issue/", {}, format="json")
    assert again.status_code == 409
    assert Event.objects.filter(incident=incident, kind="document.issued").count() == 1
    assert Document.objects.get(pk=body["id"]).sections["what_happened"] != "Rewritten."


def test_a_new_edition_supersedes_the_issued_one(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    first = draft(legal, incident.reference, "gdpr33_notification", "en")
    first_issued = issue(legal, incident.reference, first["id"])
    first_bytes = legal.get(pdf_url(incident.reference, first["id"])).content
    second = draft(legal, incident.reference, "gdpr33_notification", "en")
    assert (second["edition"], second["supersedes"]) == (2, first["id"])
    # The first stays in force until the second is issued.
    assert legal.get(document_url(incident.reference, first["id"])).json()["state"] == "issued"
    second_issued = issue(legal, incident.reference, second["id"])
    old = legal.get(document_url(incident.reference, first["id"])).json()
    assert old["state"] == "superseded" and old["superseded_by"] == second["id"]
    assert old["sha256"] == first_issued["sha256"]
    assert legal.get(pdf_url(incident.reference, first["id"])).content == first_bytes
    event = Event.objects.filter(incident=incident, kind="document.issued").last()
    assert event.data["supersedes"]["sha256"] == first_issued["sha256"]
    assert event.data["sha256"] == second_issued["sha256"]
    listed = legal.get(documents_url(incident.reference)).json()
    assert [(d["edition"], d["state"]) for d in listed] == [(1, "superseded"), (2, "issued")]


def test_one_draft_at_a_time_of_a_kind_and_language(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    again = legal.post(
        documents_url(incident.reference),
        {"kind": "executive_brief", "language": "en"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["document"] == body["id"]
    # Another language is another document.
    draft(legal, incident.reference, "executive_brief", "fa")


def test_a_supplement_needs_an_issued_notification(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    refused = legal.post(
        documents_url(incident.reference),
        {"kind": "gdpr33_supplement", "language": "en"},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["missing"] == ["gdpr33_notification"]
    draft(legal, incident.reference, "gdpr33_notification", "en")  # a draft is not enough
    again = legal.post(
        documents_url(incident.reference),
        {"kind": "gdpr33_supplement", "language": "en"},
        format="json",
    )
    assert again.status_code == 400


def test_a_supplement_lists_only_what_changed(api, incident_in, engineer):
    incident = incident_in("restoring")
    legal = api("legal")
    notification = draft(legal, incident.reference, "gdpr33_notification", "en")
    issue(legal, incident.reference, notification["id"])
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 500})
    supplement = draft(legal, incident.reference, "gdpr33_supplement", "en")
    assert supplement["changes"] == [
        {"key": "incident.affected_subjects_estimate", "from": 120, "to": 500}
    ]
    assert "People affected (estimate): 120 → 500" in supplement["sections"]["summary"]
    issued = issue(legal, incident.reference, supplement["id"])
    assert issued["changes"] == supplement["changes"]
    text = squeezed(pdf_text(legal.get(pdf_url(incident.reference, supplement["id"])).content))
    assert "People affected (estimate)" in text and "500" in text
    # What did not change is not repeated: the attack vector, the data categories.
    assert "Phishing" not in text and "Identity" not in text
    event = Event.objects.filter(incident=incident, kind="document.issued").last()
    assert event.data["changes"] == ["incident.affected_subjects_estimate"]


def test_the_next_supplement_compares_with_the_last_one_issued(api, incident_in, engineer):
    incident = incident_in("restoring")
    legal = api("legal")
    issue(
        legal,
        incident.reference,
        draft(legal, incident.reference, "gdpr33_notification", "en")["id"],
    )
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 500})
    issue(
        legal, incident.reference, draft(legal, incident.reference, "gdpr33_supplement", "en")["id"]
    )
    update_incident(
        incident,
        actor=engineer,
        changes={"data_categories": ["contact", "identity", "credentials"]},
    )
    second = draft(legal, incident.reference, "gdpr33_supplement", "en")
    assert second["edition"] == 2 and second["supersedes"] is None
    assert [c["key"] for c in second["changes"]] == ["incident.data_categories"]


def test_a_supplement_with_nothing_changed_says_so(api, incident_in):
    incident = incident_in("restoring")
    legal = api("legal")
    issue(
        legal,
        incident.reference,
        draft(legal, incident.reference, "gdpr33_notification", "en")["id"],
    )
    supplement = draft(legal, incident.reference, "gdpr33_supplement", "en")
    assert supplement["changes"] == []
    assert "Nothing recorded has changed" in supplement["sections"]["summary"]


def test_issuing_the_notification_fulfils_gdpr33_citing_the_document(rules, api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "gdpr33_notification", "en")
    issued = issue(legal, incident.reference, body["id"], fulfil=True, note="Sent by email.")
    obligation = Obligation.objects.get(incident=incident, step_key="notify_authority")
    assert obligation.state == Obligation.FULFILLED
    assert issued["obligation"] == obligation.pk
    assert issued["sha256"] in obligation.note and f"#{body['id']}" in obligation.note
    assert obligation.note.endswith("Sent by email.")
    kinds = list(
        Event.objects.filter(incident=incident, seq__gt=0)
        .order_by("seq")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["document.issued", "obligation.fulfil"]
    issued_event = Event.objects.get(incident=incident, kind="document.issued")
    assert issued_event.data["obligation"] == obligation.pk


def test_issuing_the_complaint_letter_fulfils_referral_filed(rules, api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "complaint_letter", "fa")
    issue(legal, incident.reference, body["id"], fulfil=True)
    filed = Obligation.objects.get(incident=incident, step_key="referral_filed")
    assert filed.state == Obligation.FULFILLED
    # The other deadlines are left alone.
    assert Obligation.objects.get(incident=incident, step_key="notify_authority").state == "open"


def test_asking_to_fulfil_what_no_deadline_needs_is_400_and_issues_nothing(rules, api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    refused = legal.post(
        document_url(incident.reference, body["id"], "issue/"), {"fulfil": True}, format="json"
    )
    assert refused.status_code == 400 and "fulfil" in refused.json()
    assert Document.objects.get(pk=body["id"]).state == Document.DRAFT
    assert not Event.objects.filter(incident=incident, kind="document.issued").exists()


def test_issue_honours_if_match(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    url = document_url(incident.reference, body["id"], "issue/")
    stale = legal.post(url, {}, format="json", HTTP_IF_MATCH=f'"{body["version"] + 3}"')
    assert stale.status_code == 412
    fresh = legal.post(url, {}, format="json", HTTP_IF_MATCH=f'"{body["version"]}"')
    assert fresh.status_code == 200, fresh.json()


def test_a_tampered_issued_pdf_is_refused(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    issue(legal, incident.reference, body["id"])
    forge = Document.objects.filter(pk=body["id"])
    if is_postgres():
        # PostgreSQL refuses to change an issued document at all (migration incidents/0010).
        with pytest.raises(DatabaseError, match="never edited"), transaction.atomic():
            forge.update(pdf=b"%PDF-1.7 forged")
        with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
            forge.delete()
        return
    # Someone with database access on SQLite, which has no trigger to stop them.
    forge.update(pdf=b"%PDF-1.7 forged")
    refused = legal.get(pdf_url(incident.reference, body["id"]))
    assert refused.status_code == 409
    assert refused.json()["expected_sha256"] != refused.json()["actual_sha256"]


def test_a_long_record_is_drafted_within_each_section_s_limit(api, incident_in, users):
    from incidents.notes import add_note

    incident = incident_in("restored")
    for i in range(6):
        add_note(incident, actor=users["engineer"], text=f"finding {i}: " + "x" * 4900)
    legal = api("legal")
    body = draft(legal, incident.reference, "complaint_letter", "fa")
    assert len(body["sections"]["facts"]) == 20000
    assert "finding 0" in body["sections"]["facts"]
    # The whole draft can be sent back as it is.
    url = document_url(incident.reference, body["id"])
    again = legal.patch(url, {"sections": body["sections"]}, format="json")
    assert again.status_code == 200, again.json()
