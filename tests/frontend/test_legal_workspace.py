"""Referrals, legal deadlines and evidence from the incident page, through the legal domain."""

from __future__ import annotations

import html
import re

from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.legal.obligations import seed_rules
from incidents.models import Event, Obligation, Referral
from tests.frontend.helpers import browser, shown_again


def test_legal_prepares_and_submits_a_referral_from_the_page(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["legal"])
    created = client.post(
        f"/incidents/{incident.reference}/referrals/new/",
        {"authority": "cybercrime_prosecutor", "case_number": ""},
    )
    assert created.status_code == 302
    referral = Referral.objects.get(incident=incident, authority="cybercrime_prosecutor")
    assert referral.state == "draft"
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert f"/referrals/{referral.pk}/transitions/submit/" in page
    submitted = client.post(
        f"/incidents/{incident.reference}/referrals/{referral.pk}/transitions/submit/",
        {"version": referral.version},
    )
    assert submitted.status_code == 302
    referral.refresh_from_db()
    assert referral.state == "submitted"
    assert Event.objects.filter(incident=incident, kind="referral.submit").exists()


def test_withdrawing_without_a_reason_says_so(users, incident_in):
    incident = incident_in("referred")
    referral = incident.referrals.get()
    response = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en").post(
        f"/incidents/{incident.reference}/referrals/{referral.pk}/transitions/withdraw/",
        {"version": referral.version},
        follow=True,
    )
    shown_again(response)
    assert "Still missing: reason" in response.content.decode()


def test_executive_cannot_prepare_a_referral(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["executive"])
    assert "referrals/new/" not in client.get(f"/incidents/{incident.reference}/").content.decode()
    response = client.post(
        f"/incidents/{incident.reference}/referrals/new/", {"authority": "cyber_police"}
    )
    assert response.status_code == 403
    assert not Referral.objects.filter(incident=incident).exists()


def test_referral_of_another_incident_is_404(users, incident_in):
    first, second = incident_in("referred"), incident_in("restored")
    referral = first.referrals.get()
    response = browser(users["legal"]).post(
        f"/incidents/{second.reference}/referrals/{referral.pk}/transitions/withdraw/",
        {"version": referral.version, "reason": "x"},
    )
    assert response.status_code == 404


def test_deadlines_show_on_the_page_and_can_be_fulfilled(users, incident_in):
    seed_rules()
    incident = incident_in("restoring")  # personal data in scope: GDPR-33 and policy rules apply
    obligation = Obligation.objects.filter(incident=incident).order_by("due_at").first()
    assert obligation is not None
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")  # step names as stored
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert obligation.step_name in page
    dashboard = client.get("/").content.decode()
    deadlines = dashboard.split('id="deadlines"')[1].split("</section>")[0]
    assert obligation.step_name in deadlines and incident.reference in deadlines
    done = client.post(
        f"/incidents/{incident.reference}/obligations/{obligation.pk}/transitions/fulfil/",
        {"version": obligation.version, "note": "Filed by email."},
    )
    assert done.status_code == 302
    obligation.refresh_from_db()
    assert obligation.state == "fulfilled" and obligation.note == "Filed by email."


def test_unknown_record_kind_is_404(users, incident_in):
    incident = incident_in("restored")
    response = browser(users["legal"]).post(
        f"/incidents/{incident.reference}/widgets/1/transitions/fulfil/", {"version": 1}
    )
    assert response.status_code == 404


def test_engineer_uploads_evidence_from_the_page(users, incident_in, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = incident_in("scoping")
    upload = SimpleUploadedFile("access.log", b"GET /admin 200\n", content_type="text/plain")
    response = browser(users["engineer"]).post(
        f"/incidents/{incident.reference}/evidence/", {"file": upload, "description": "web log"}
    )
    assert response.status_code == 302
    page = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "access.log" in page and "web log" in page and "dossier.pdf" in page


def test_executive_cannot_upload_evidence(users, incident_in, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    incident = incident_in("scoping")
    upload = SimpleUploadedFile("x.txt", b"x")
    response = browser(users["executive"]).post(
        f"/incidents/{incident.reference}/evidence/", {"file": upload}
    )
    assert response.status_code == 403


def test_referral_actions_come_in_the_order_a_referral_moves(users, incident_in):
    from incidents.legal.referrals import apply_referral_transition, create_referral

    incident = incident_in("restored")
    data = {"authority": "cyber_police"}
    referral, _ = create_referral(incident, actor=users["legal"], data=data)
    referral, _ = apply_referral_transition(referral, "submit", actor=users["legal"])
    page = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    prefix = f"/referrals/{referral.pk}/transitions/"
    shown = [part.split("/")[0] for part in page.split(prefix)[1:]]
    assert shown == ["acknowledge", "start_investigation", "conclude", "withdraw"]


def test_seeded_deadline_names_read_in_persian_and_policy_is_marked(users, incident_in):
    seed_rules()
    incident = incident_in("scoping", data_categories=["contact"])
    html = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "اطلاع به مرجع ناظر" in html  # GDPR-33's step
    assert "ثبت ارجاع" in html and "پلیس فتا / دادسرا" in html  # the company's own rule
    assert "سیاست شرکت، نه قانون" in html
    assert "Notify supervisory authority" not in html
    obligation = Obligation.objects.filter(incident=incident, step_key="notify_authority").get()
    obligation.step_name = "Tell the regulator"  # an admin's own wording, not in the catalogue
    obligation.save(update_fields=["step_name"])
    html = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "Tell the regulator" in html


def test_legal_fulfils_a_deadline_citing_evidence_and_sees_its_custody(
    users, incident_in, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    seed_rules()
    incident = incident_in("restoring")
    other = incident_in("scoping")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    for target, name in ((incident, "receipt.pdf"), (other, "elsewhere.pdf")):
        client.post(
            f"/incidents/{target.reference}/evidence/",
            {"file": SimpleUploadedFile(name, b"%PDF-1.4 receipt")},
        )
    receipt = incident.evidence.get()
    obligation = Obligation.objects.filter(incident=incident).order_by("due_at").first()
    url = f"/incidents/{incident.reference}/obligations/{obligation.pk}/transitions/fulfil/"
    # Evidence of another incident is no proof for this one.
    foreign = other.evidence.get()
    refused = client.post(
        url, {"version": obligation.version, "note": "x", "document": foreign.pk}, follow=True
    )
    summary = shown_again(refused).split('id="error-summary"')[1].split("</section>")[0]
    assert "Select a valid choice" in summary
    done = client.post(url, {"version": obligation.version, "note": "Sent", "document": receipt.pk})
    assert done.status_code == 302
    obligation.refresh_from_db()
    assert (obligation.state, obligation.document_id) == ("fulfilled", receipt.pk)
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    custody = page.split("Chain of custody")[1].split("</details>")[0]
    assert "Uploaded · legal" in custody


def test_the_page_offers_the_dossier_in_each_language_and_addressed_to_each_referral(
    users, incident_in
):
    incident = incident_in("referred")
    referral = incident.referrals.get()
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    page = html.unescape(client.get(f"/incidents/{incident.reference}/").content.decode())
    links = set(re.findall(r'href="(/api/incidents/[^"]+/dossier\.(?:pdf|zip)\?[^"]*)"', page))
    base = f"/api/incidents/{incident.reference}/dossier"
    assert {f"{base}.pdf?lang=fa", f"{base}.pdf?lang=en", f"{base}.zip?lang=en"} <= links
    addressed = f"{base}.pdf?lang=fa&referral={referral.pk}"
    assert addressed in links
    response = client.get(addressed)
    assert response.status_code == 200
    assert response["Content-Language"] == "fa"
    assert response.content.startswith(b"%PDF")
