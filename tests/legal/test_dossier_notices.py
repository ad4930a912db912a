"""The dossier's section "Notice to affected people" (issue 18 part 4): the notification decision
(outcome, exemption, reason, who, when, stale or not), each campaign's texts, the notices counted
per status and channel, the register counted, and the first and last notice sent; in the PDF
(its text read back) and in the JSON export. Neither holds anything of a person in the
register: no name, email, mobile or customer id."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder

from core.formats import moment
from incidents.affected.campaigns import approve_campaign, cancel_campaign, draft_campaign
from incidents.affected.decision import record_decision
from incidents.affected.sending import advance_campaigns
from incidents.legal.obligations import seed_rules
from incidents.lifecycle import update_incident
from incidents.models import Incident, Notice, NoticeCampaign
from tests.legal.test_dossier import pdf_text
from tests.notices.conftest import add_people, send_notices

pytestmark = pytest.mark.django_db
JSON = DjangoJSONEncoder()  # how the export writes a moment

# Distinctive people, so a match cannot be a coincidence of the rest of the dossier.
PEOPLE = [
    ("CUST-4q7w9z", "Farangis Mehrabanpour", "farangis.m@mailbox-example.ir", "09127654321", "fa"),
    ("CUST-6x2v8n", "Bardia Khoshnevisan", "bardia.kh@example-shop.ir", "", "en"),
    ("CUST-3k5j1h", "شهرزاد نیک‌اندیش", "", "+98 935 246 8013", "fa"),
]
CONTACT_DATA = [
    value
    for customer_id, name, email, mobile, _language in PEOPLE
    for value in (customer_id, name, *name.split(), email, email.split("@")[0])
    if value
] + ["9127654321", "+989127654321", "9352468013", "+989352468013", "09352468013"]

CUSTOM = {
    "subject": {"fa": "اطلاعیه امنیتی {{ company }}", "en": "Security notice from {{ company }}"},
    "body": {
        "fa": "{{ name|default:'مشتری گرامی' }}، داده‌های شما در رخداد {{ reference }} فاش شد.",
        "en": "Dear {{ name|default:'customer' }}, your data leaked in {{ reference }}. "
        "Read {{ notice_url }}.",
    },
}


@pytest.fixture
def leak(users: dict[str, User], incident_in: Callable[..., Incident]) -> Incident:
    """A breach being restored that leaked names, contacts and bank accounts; legal decided to
    tell the people; three people in the register (two with an email, two with a mobile)."""
    seed_rules()
    incident = incident_in("restoring")
    incident, _ = update_incident(
        incident,
        actor=users["engineer"],
        changes={"data_categories": ["identity", "contact", "bank_account"]},
    )
    record_decision(
        incident, actor=users["legal"], outcome="notify", reason="Bank accounts leaked: fraud."
    )
    add_people(incident, users["legal"], PEOPLE)
    return Incident.objects.get(pk=incident.pk)


def when(value: Any) -> str:
    """A moment as the English dossier prints it (Tehran time, the documents' zone)."""
    return moment(value, language="en", zone="Asia/Tehran")


def dossier(api: Any, incident: Incident) -> tuple[str, dict[str, Any], str]:
    """The English PDF's text (whitespace folded: lines wrap), the JSON export and its raw
    text."""
    pdf = api("legal").get(f"/api/incidents/{incident.reference}/dossier.pdf?lang=en")
    assert pdf.status_code == 200
    archive = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip")
    assert archive.status_code == 200
    raw = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).read("incident.json")
    return " ".join(pdf_text(pdf.content).split()), json.loads(raw), raw.decode()


def no_contact_data(*texts: str) -> list[str]:
    """Every spelling of the people's details found in the texts. (A Persian name could hide in
    the PDF's text, whose Persian comes out in presentation forms: the Latin names, the emails,
    the numbers and the JSON, where every name is as written, carry the check.)"""
    return [v for v in CONTACT_DATA for t in texts if v in t or json.dumps(v)[1:-1] in t]


def test_the_section_counts_a_sent_and_a_cancelled_campaign_without_naming_anyone(
    api, users, legal2, leak, smtp, sms_gateway, notice_settings
):
    # A first campaign planned (three notices queued), then cancelled: its notices are dead.
    first, _ = draft_campaign(leak, actor=users["legal"])
    first, _ = approve_campaign(first, actor=legal2)
    advance_campaigns()
    cancel_campaign(first, actor=users["legal"], reason="Wrong contact line in the letter.")
    # The second, from the templates, tells all three: two by email, one by SMS.
    second, _ = draft_campaign(leak, actor=legal2)
    second, _ = approve_campaign(second, actor=users["admin"])

    def finished() -> bool:
        second.refresh_from_db()
        return second.state == NoticeCampaign.FINISHED

    send_notices(until=finished)
    assert finished()
    sent = Notice.objects.filter(campaign=second, status=Notice.SENT)
    first_sent = min(sent.values_list("sent_at", flat=True))
    last_sent = max(sent.values_list("sent_at", flat=True))
    assert len(smtp.mailbox.messages) == 2 and len(sms_gateway.delivered()) == 1  # control

    text, export, raw = dossier(api, leak)

    assert "Notice to the people affected" in text
    assert "Decision Notify the people affected" in text  # the outcome in words
    assert f"Decided legal, {when(leak.notification_decision.decided_at)}" in text
    assert "Reason Bank accounts leaked: fraud." in text and "Assessed risk High" in text
    assert "Still current Yes: the decision covers the current scope" in text
    assert "People in the register 3 (2 with an email, 2 with a mobile number)" in text
    assert "Told 3" in text and "Contact data purged 0" in text
    assert f"Notice campaign {first.pk} — Cancelled" in text
    assert f"Notice campaign {second.pk} — Finished" in text
    assert "Why it was cancelled Wrong contact line in the letter." in text
    assert f"Drafted legal2, {when(second.created_at)}" in text
    assert f"Approved (second person) admin, {when(second.approved_at)}" in text
    assert second.subject["en"] in text  # the template's subject, as the campaign copied it
    assert "Texts The notice templates SHA-256 " in text
    header = "Notices Queued Sent Failed (will retry) Dead"
    assert f"{header} All (3) 0 0 0 3 Email 0 0 0 2 SMS 0 0 0 1" in text  # the cancelled one
    assert f"{header} All (3) 0 3 0 0 Email 0 2 0 0 SMS 0 1 0 0" in text
    assert f"All campaigns {header} All (6) 0 3 0 3 Email 0 2 0 2 SMS 0 1 0 1" in text
    assert f"First notice sent: {when(first_sent)} · Last notice sent: {when(last_sent)}" in text

    section = export["notice_to_affected_people"]
    decision = section["decision"]
    assert decision["outcome"] == "notify" and decision["exemption"] == ""
    assert decision["decided_by"] == "legal" and decision["decided_at"]
    assert decision["reason"] == "Bank accounts leaked: fraud." and decision["stale"] is False
    assert section["register"] == {
        "people": 3,
        "with_email": 2,
        "with_mobile": 2,
        "notified": 3,
        "purged": 0,
    }
    campaigns = {c["id"]: c for c in section["campaigns"]}
    assert campaigns[first.pk]["state"] == "cancelled"
    assert campaigns[first.pk]["counts"]["dead"] == 3
    assert campaigns[first.pk]["cancelled_reason"] == "Wrong contact line in the letter."
    done = campaigns[second.pk]
    assert done["state"] == "finished" and done["source"] == "templates"
    assert done["drafted_by"] == "legal2" and done["approved_by"] == "admin"
    assert done["subject"] == second.subject and done["body"] is None
    assert len(done["sha256"]) == 64
    assert done["counts"]["sent"] == 3 and done["counts"]["planned"] == 3
    assert done["counts"]["by_channel"]["email"]["sent"] == 2
    assert done["counts"]["by_channel"]["sms"]["sent"] == 1
    totals = section["counts"]
    assert (totals["planned"], totals["sent"], totals["dead"], totals["queued"]) == (6, 3, 3, 0)
    assert totals["by_channel"]["email"] == {"queued": 0, "sent": 2, "failed": 0, "dead": 2}
    assert totals["by_channel"]["sms"] == {"queued": 0, "sent": 1, "failed": 0, "dead": 1}
    assert totals["first_sent_at"] == JSON.default(first_sent)
    assert totals["last_sent_at"] == JSON.default(last_sent)

    assert no_contact_data(text, raw) == []


def test_a_campaign_in_legals_own_words_is_shown_as_written(api, users, legal2, leak):
    campaign, _ = draft_campaign(leak, actor=users["legal"], texts=CUSTOM)
    text, export, raw = dossier(api, leak)
    assert f"Notice campaign {campaign.pk} — Draft" in text
    assert "Texts Written for this campaign" in text
    assert "Subject Security notice from {{ company }}" in text
    assert "Read {{ notice_url }}." in text  # the English body, as legal wrote it
    assert "All (0) 0 0 0 0" in text
    assert "First notice sent: — · Last notice sent: —" in text
    (exported,) = export["notice_to_affected_people"]["campaigns"]
    assert exported["source"] == "texts"
    assert exported["subject"] == CUSTOM["subject"] and exported["body"] == CUSTOM["body"]
    assert exported["approved_by"] is None and exported["counts"]["first_sent_at"] is None
    assert no_contact_data(text, raw) == []


def test_an_exemption_and_a_stale_decision_are_in_the_section(api, users, incident_in):
    seed_rules()
    incident = incident_in("restoring")
    incident, _ = update_incident(
        incident, actor=users["engineer"], changes={"data_categories": ["technical"]}
    )
    record_decision(
        incident,
        actor=users["legal"],
        outcome="not_required",
        exemption="low_risk",
        reason="Only IP addresses and browser versions.",
    )
    # The scope grows to bank accounts: the risk rises above the one legal decided on.
    update_incident(
        incident,
        actor=users["engineer"],
        changes={"data_categories": ["technical", "bank_account"]},
    )
    text, export, _raw = dossier(api, incident)
    assert (
        "Decision Notice not required — Not likely to result in a high risk to the people "
        "affected" in text
    )
    assert "Reason Only IP addresses and browser versions." in text
    assert "Still current No: the scope changed after the decision; legal must decide again" in text
    assert "People in the register 0 (0 with an email, 0 with a mobile number)" in text
    assert "not_required" not in text and "low_risk" not in text
    decision = export["notice_to_affected_people"]["decision"]
    assert decision["outcome"] == "not_required" and decision["exemption"] == "low_risk"
    assert decision["stale"] is True and decision["stale_since"]
    assert export["notice_to_affected_people"]["campaigns"] == []


def test_an_incident_without_a_decision_says_so(api, incident_in):
    text, export, _raw = dossier(api, incident_in("scoping"))
    assert "Notice to the people affected" in text and "Decided Not decided yet" in text
    decision = export["notice_to_affected_people"]["decision"]
    assert decision["outcome"] == "undecided" and decision["decided_by"] is None
    assert decision["version"] == 0
    assert export["notice_to_affected_people"]["counts"]["planned"] == 0
