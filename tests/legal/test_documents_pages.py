"""Documents from the incident page: legal drafts, edits and issues (with a confirmation);
every reader sees the list and the PDF links; refusals come back on the page, never a 500."""

from __future__ import annotations

import pytest

from incidents.models import Document, Event, Obligation
from tests.frontend.helpers import browser, shown_again

pytestmark = pytest.mark.django_db


def _page(client, incident) -> str:
    response = client.get(f"/incidents/{incident.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def test_legal_drafts_edits_and_issues_a_document_from_the_page(rules, users, incident_in):
    incident = incident_in("restored")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="document-create"' in _page(client, incident)
    created = client.post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "gdpr33_notification", "language": "en", "authority": ""},
    )
    assert created.status_code == 302 and created["Location"].endswith("#documents")
    document = Document.objects.get(incident=incident)
    html = _page(client, incident)
    assert f"/api/incidents/{incident.reference}/documents/{document.pk}.pdf" in html
    assert f"/documents/{document.pk}/edit/" in html and f"/documents/{document.pk}/issue/" in html

    prefix = f"document-{document.pk}"
    sections = {f"{prefix}-{k}": v for k, v in document.sections.items()}
    sections[f"{prefix}-nature"] = "A backup of the shop database was copied out."
    edited = client.post(
        f"/incidents/{incident.reference}/documents/{document.pk}/edit/",
        {f"{prefix}-version": document.version, **sections},
    )
    assert edited.status_code == 302
    document.refresh_from_db()
    assert document.sections["nature"] == "A backup of the shop database was copied out."

    issue_url = f"/incidents/{incident.reference}/documents/{document.pk}/issue/"
    unconfirmed = client.post(
        issue_url, {f"issue-{document.pk}-version": document.version}, follow=True
    )
    shown_again(unconfirmed)
    assert Document.objects.get(pk=document.pk).state == Document.DRAFT
    issued = client.post(
        issue_url,
        {
            f"issue-{document.pk}-version": document.version,
            f"issue-{document.pk}-confirm": "on",
            f"issue-{document.pk}-fulfil": "on",
        },
    )
    assert issued.status_code == 302
    document.refresh_from_db()
    assert document.state == Document.ISSUED and len(document.sha256) == 64
    notify = Obligation.objects.get(incident=incident, step_key="notify_authority")
    assert notify.state == Obligation.FULFILLED and document.sha256 in notify.note
    html = _page(client, incident)
    assert document.sha256 in html and f"/documents/{document.pk}/edit/" not in html


def test_an_edit_against_an_old_version_is_refused_with_the_text_kept(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "executive_brief", "language": "en"},
    )
    document = Document.objects.get(incident=incident)
    prefix = f"document-{document.pk}"
    refused = client.post(
        f"/incidents/{incident.reference}/documents/{document.pk}/edit/",
        {f"{prefix}-version": document.version + 5, f"{prefix}-what_happened": "Mine, typed."},
        follow=True,
    )
    shown_again(refused)
    assert "Mine, typed." in refused.content.decode()
    assert not Event.objects.filter(incident=incident, kind="document.edited").exists()


def test_a_refused_draft_says_why_on_the_page(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    wrong = client.post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "complaint_letter", "language": "en"},
        follow=True,
    )
    assert "Persian only" in shown_again(wrong)
    early = client.post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "gdpr33_supplement", "language": "en"},
        follow=True,
    )
    assert "issue that first" in shown_again(early)
    assert not Document.objects.filter(incident=incident).exists()


def test_executives_see_documents_but_no_forms(users, incident_in):
    incident = incident_in("restored")
    browser(users["legal"]).post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "executive_brief", "language": "fa"},
    )
    document = Document.objects.get(incident=incident)
    html = _page(browser(users["executive"]), incident)
    assert f"/api/incidents/{incident.reference}/documents/{document.pk}.pdf" in html
    assert 'id="document-create"' not in html and "/edit/" not in html.split('id="documents"')[1]


@pytest.mark.parametrize("role", ["engineer", "executive"])
def test_other_roles_may_not_write_documents_from_the_page(users, incident_in, role):
    incident = incident_in("restored")
    response = browser(users[role]).post(
        f"/incidents/{incident.reference}/documents/new/",
        {"kind": "executive_brief", "language": "en"},
    )
    assert response.status_code == 403
    assert not Document.objects.filter(incident=incident).exists()


def test_the_page_costs_the_same_queries_with_many_documents(
    users, incident_in, django_assert_max_num_queries
):
    from incidents.legal.documents import draft_document, issue_document

    incident = incident_in("restored")
    client = browser(users["legal"])
    _page(client, incident)  # warm caches
    for kind, language in (("executive_brief", "en"), ("gdpr33_notification", "fa")):
        issue_document(
            draft_document(incident, actor=users["legal"], kind=kind, language=language)[0],
            actor=users["legal"],
        )
    draft_document(incident, actor=users["legal"], kind="executive_brief", language="en")
    with django_assert_max_num_queries(60) as few:
        _page(client, incident)
    first = len(few.captured_queries)
    for language in ("fa",):
        draft_document(incident, actor=users["legal"], kind="executive_brief", language=language)
        draft_document(incident, actor=users["legal"], kind="complaint_letter", language=language)
    with django_assert_max_num_queries(first):
        _page(client, incident)
