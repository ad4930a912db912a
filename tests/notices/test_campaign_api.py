"""The notice campaigns' API: every answer of every endpoint, the four-eyes rule, the roles, the
need-to-know rule and If-Match (docs/notifications.md, "Notices")."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import jdatetime
import pytest
from django.conf import settings
from django.utils import translation

from incidents.affected.campaigns import CAMPAIGN, approve_campaign, draft_campaign
from incidents.machines import Machine
from incidents.models import AccessRecord, Event, Incident, NoticeCampaign
from incidents.need_to_know import change_restriction
from tests.conftest import client_for
from tests.notices.conftest import add_people, approved_campaign, send_notices

pytestmark = pytest.mark.usefixtures("notice_settings")
INLINE = {
    "subject": {"fa": "اطلاعیه {{ company }}", "en": "Notice from {{ company }}"},
    "body": {"fa": "{{ name }} گرامی، {{ notice_url }}", "en": "Dear {{ name }}, {{ notice_url }}"},
}


def said(message: str) -> str:
    """A domain message as the API says it, in the deployment's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return translation.gettext(message)


def url(incident: Incident, *parts: Any) -> str:
    tail = "".join(f"{part}/" for part in parts)
    return f"/api/incidents/{incident.reference}/notice-campaigns/{tail}"


def drafted(api: Any, incident: Incident, role: str = "legal", body: Any = None) -> dict:
    response = api(role).post(url(incident), body or {}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- drafting ---------------------------------------------------------------------------------


def test_legal_drafts_from_the_templates_chosen_by_the_leaked_categories(api, breach):
    response = api("legal").post(url(breach), {}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert response["ETag"] == '"1"' and body["state"] == "draft" and body["version"] == 1
    assert body["drafted_by"] == "legal" and body["approved_by"] is None
    assert body["subject"]["en"].startswith("Important: a security incident at {{ company }}")
    advice = {lang: [b["category"] for b in blocks] for lang, blocks in body["advice"].items()}
    # the incident leaked identity, contact, bank account, credentials: in the vocabulary's order
    assert advice == {
        lang: ["identity", "contact", "bank_account", "credentials"] for lang in ("fa", "en")
    }
    assert body["counts"]["planned"] == 0 and body["counts"]["first_sent_at"] is None
    assert body["available_transitions"] == ["cancel"]  # the drafter may not approve it
    event = Event.objects.get(kind="campaign.drafted")
    assert event.data["campaign"] == {"id": body["id"]} and event.data["source"] == "templates"
    assert event.data["advice"] == ["identity", "contact", "bank_account", "credentials"]
    assert len(event.data["sha256"]) == 64


def test_a_draft_may_bring_its_own_texts(api, breach):
    body = drafted(api, breach, body=INLINE)
    assert body["subject"] == INLINE["subject"] and body["body"] == INLINE["body"]
    assert body["sms"]["fa"].startswith("{{ company }}")  # the SMS template, not given
    assert Event.objects.get(kind="campaign.drafted").data["source"] == "texts"


@pytest.mark.parametrize(
    "texts, field",
    [
        ({**INLINE, "body": {**INLINE["body"], "fa": '{% include "x" %}'}}, "body.fa"),
        ({**INLINE, "body": {**INLINE["body"], "en": "{% load static %}"}}, "body.en"),
        ({**INLINE, "body": {**INLINE["body"], "en": '{% extends "base.html" %}'}}, "body.en"),
        ({**INLINE, "subject": {**INLINE["subject"], "fa": "{% if %}"}}, "subject.fa"),
        ({**INLINE, "body": {**INLINE["body"], "en": '{{ name|center:"9999999" }}'}}, "body.en"),
        ({**INLINE, "sms": {"fa": "{% for c in name %}{% endfor %}", "en": "x"}}, "sms.fa"),
    ],
)
def test_a_template_that_could_reach_files_or_blow_up_is_refused(api, breach, texts, field):
    response = api("legal").post(url(breach), texts, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not NoticeCampaign.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"subject": INLINE["subject"]},  # a subject without its body
        {**INLINE, "subject": {"fa": "x"}},  # a language missing
        {**INLINE, "subject": {**INLINE["subject"], "de": "x"}},  # an unknown one
        {**INLINE, "subject": {"fa": "x" * 201, "en": "x"}},  # too long
        {**INLINE, "body": {"fa": 7, "en": "x"}},  # not text
        {**INLINE, "body": {"fa": "", "en": "x"}},  # empty
        {"advice": {}},  # not a text a draft gives
        [],
    ],
)
def test_a_malformed_draft_is_a_400(api, breach, body):
    response = api("legal").post(url(breach), body, format="json")
    assert response.status_code == 400 and response.json()["detail"]


def test_who_may_draft(api, users, breach):
    assert api("admin").post(url(breach), {}, format="json").status_code == 201
    for role in ("engineer", "executive", "norole"):
        assert api(role).post(url(breach), {}, format="json").status_code == 403, role
    assert client_for(None).post(url(breach), {}, format="json").status_code == 401
    response = api("legal").post(url(breach), "{}", content_type="text/plain")
    assert response.status_code == 415
    assert (
        api("legal")
        .post("/api/incidents/INC-1999-0001/notice-campaigns/", {}, format="json")
        .status_code
        == 404
    )


# --- reading ----------------------------------------------------------------------------------


def test_every_role_that_sees_the_incident_reads_its_campaigns(api, breach):
    made = drafted(api, breach)
    for role in ("engineer", "legal", "executive", "admin"):
        listed = api(role).get(url(breach))
        assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [made["id"]]
        one = api(role).get(url(breach, made["id"]))
        assert one.status_code == 200 and one["ETag"] == '"1"', role
    assert api("norole").get(url(breach)).status_code == 403
    assert client_for(None).get(url(breach)).status_code == 401
    assert api("legal").get(url(breach, made["id"] + 1)).status_code == 404
    assert api("legal").get("/api/incidents/INC-1999-0001/notice-campaigns/").status_code == 404


def test_a_campaign_is_found_only_under_its_own_incident(api, breach, incident_in):
    made = drafted(api, breach)
    other = incident_in("detected")
    assert api("legal").get(url(other, made["id"])).status_code == 404
    assert (
        api("admin").post(url(other, made["id"], "approve"), {}, format="json").status_code == 404
    )


def test_a_restricted_incident_is_a_404_to_whoever_may_not_read_it(api, users, breach):
    made = drafted(api, breach)
    change_restriction(breach, actor=users["admin"], restricted=True, members=["engineer"])
    for path in (url(breach), url(breach, made["id"]), url(breach, made["id"], "preview")):
        assert api("legal").get(path).status_code == 404, path
        assert api("admin").get(path).status_code == 200, path
    assert api("legal").post(url(breach), {}, format="json").status_code == 404
    assert (
        api("legal").post(url(breach, made["id"], "approve"), {}, format="json").status_code == 404
    )


def test_counts_per_status_and_channel_come_from_one_query(
    api, users, legal2, breach, smtp, sms_gateway, django_assert_max_num_queries
):
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    client = api("executive")
    response = client.get(url(breach, campaign.pk))
    counts = response.json()["counts"]
    assert counts["planned"] == counts["sent"] == 3 and counts["dead"] == 0
    assert counts["by_channel"] == {
        "email": {"queued": 0, "sent": 2, "failed": 0, "dead": 0},
        "sms": {"queued": 0, "sent": 1, "failed": 0, "dead": 0},
    }
    assert counts["first_sent_at"] <= counts["last_sent_at"]
    # the list costs the same whatever the number of campaigns and notices
    for _ in range(5):
        draft_campaign(breach, actor=users["legal"])
    with django_assert_max_num_queries(8):
        listed = client.get(url(breach))
    assert len(listed.json()) == 6


# --- four eyes --------------------------------------------------------------------------------


def test_the_drafter_may_not_approve_even_as_an_admin(api, users, legal2, breach):
    made = drafted(api, breach, role="legal")
    response = api("legal").post(url(breach, made["id"], "approve"), {}, format="json")
    four_eyes = "You drafted this notice: a second legal user or an admin must approve it."
    assert response.status_code == 403 and response.json()["detail"] == said(four_eyes)
    by_admin = drafted(api, breach, role="admin")
    assert (
        api("admin").post(url(breach, by_admin["id"], "approve"), {}, format="json").status_code
        == 403
    )
    for role in ("engineer", "executive"):
        assert (
            api(role).post(url(breach, made["id"], "approve"), {}, format="json").status_code == 403
        )
    assert NoticeCampaign.objects.filter(state="draft").count() == 2
    approved = client_for(legal2).post(
        url(breach, made["id"], "approve"), {"note": "Read it."}, format="json"
    )
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["state"] == "approved" and body["approved_by"] == "legal2"
    assert approved["ETag"] == '"2"'
    event = Event.objects.get(kind="campaign.approve")
    assert event.actor_username == "legal2" and event.data["note"] == "Read it."


def test_an_admin_approves_what_legal_drafted(api, breach):
    made = drafted(api, breach, role="legal")
    response = api("admin").post(url(breach, made["id"], "approve"), {}, format="json")
    assert response.status_code == 200 and response.json()["approved_by"] == "admin"


def test_approving_twice_or_beside_another_campaign_in_flight_is_a_409(api, users, breach):
    first, second = drafted(api, breach), drafted(api, breach)
    assert (
        api("admin").post(url(breach, first["id"], "approve"), {}, format="json").status_code == 200
    )
    again = api("admin").post(url(breach, first["id"], "approve"), {}, format="json")
    assert again.status_code == 409 and again.json()["state"] == "approved"
    busy = api("admin").post(url(breach, second["id"], "approve"), {}, format="json")
    busy_message = "Another notice campaign of this incident is being sent; cancel it or wait."
    assert busy.status_code == 409 and busy.json()["detail"] == said(busy_message)


def test_a_stale_if_match_is_a_412(api, breach):
    made = drafted(api, breach)
    client = api("admin")
    stale = client.post(url(breach, made["id"], "approve"), {}, HTTP_IF_MATCH='"7"', format="json")
    assert stale.status_code == 412 and stale.json()["version"] == 1
    ok = client.post(url(breach, made["id"], "approve"), {}, HTTP_IF_MATCH='"1"', format="json")
    assert ok.status_code == 200
    cancel = client.post(
        url(breach, made["id"], "cancel"), {"reason": "x"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert cancel.status_code == 412
    assert (
        client.post(
            url(breach, made["id"], "approve"), {}, HTTP_IF_MATCH="x", format="json"
        ).status_code
        == 400
    )


def test_approval_needs_somebody_to_notify(api, users, incident_in):
    empty = incident_in("restoring")
    made = drafted(api, empty)
    response = api("admin").post(url(empty, made["id"], "approve"), {}, format="json")
    assert response.status_code == 400 and response.json()["missing"] == ["affected_people"]
    wrong = api("admin").post(url(empty, made["id"], "approve"), {"reason": "x"}, format="json")
    assert wrong.status_code == 400 and "reason" in wrong.json()


# --- cancelling -------------------------------------------------------------------------------


def test_cancelling_needs_a_reason_and_ends_the_campaign(api, breach):
    made = drafted(api, breach)
    client = api("legal")  # the drafter may withdraw their own draft
    missing = client.post(url(breach, made["id"], "cancel"), {}, format="json")
    assert missing.status_code == 400 and missing.json()["missing"] == ["reason"]
    for role in ("engineer", "executive"):
        assert (
            api(role)
            .post(url(breach, made["id"], "cancel"), {"reason": "x"}, format="json")
            .status_code
            == 403
        )
    done = client.post(url(breach, made["id"], "cancel"), {"reason": "Wrong text."}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "cancelled"
    assert done.json()["cancelled_reason"] == "Wrong text." and done.json()["cancelled_at"]
    again = client.post(url(breach, made["id"], "cancel"), {"reason": "again"}, format="json")
    assert again.status_code == 409
    assert (
        client.post(url(breach, 999_999, "cancel"), {"reason": "x"}, format="json").status_code
        == 404
    )


# --- preview ----------------------------------------------------------------------------------


def jalali(moment: dt.datetime) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    text = jdatetime.date.fromgregorian(date=local).strftime("%Y/%m/%d")
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def test_preview_in_each_language_for_the_registers_first_reader(api, breach):
    made = drafted(api, breach)
    fa = api("legal").get(url(breach, made["id"], "preview"), {"lang": "fa"})
    assert fa.status_code == 200
    body = fa.json()
    assert body["language"] == "fa" and body["person"] is not None
    assert body["text"].startswith("علی رضایی گرامی،")
    assert f"در تاریخ {jalali(breach.detected_at)} متوجه" in body["text"]  # Jalali, Persian digits
    assert body["subject"] == "اطلاعیهٔ مهم فروشگاه نمونه: رویداد امنیتی و اطلاعات شما"
    assert body["sms"].startswith("فروشگاه نمونه:") and 'dir="rtl"' in body["html"]
    en = api("admin").get(url(breach, made["id"], "preview"), {"lang": "en"}).json()
    assert en["text"].startswith("Dear Sara Ahmadi,")
    assert (
        f"On {breach.detected_at.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)):%Y-%m-%d}"
        in en["text"]
    )
    # each preview of a real person is a read of the register, logged
    reads = AccessRecord.objects.filter(kind="register.read", target__startswith="notice-preview:")
    assert reads.count() == 2 and {r.username for r in reads} == {"legal", "admin"}


def test_preview_without_a_reader_of_that_language_uses_a_made_up_one(api, users, incident_in):
    incident = incident_in("restoring")
    add_people(incident, users["legal"], [("C-9", "Only Persian", "p@example.com", "", "fa")])
    made = drafted(api, incident)
    body = api("legal").get(url(incident, made["id"], "preview"), {"lang": "en"}).json()
    assert body["person"] is None and body["text"].startswith("Dear [Sample Customer],")
    assert not AccessRecord.objects.filter(kind="register.read").exists()


def test_preview_answers(api, breach):
    made = drafted(api, breach)
    preview = url(breach, made["id"], "preview")
    assert api("legal").get(preview, {"lang": "de"}).status_code == 400
    assert api("legal").get(preview).json()["language"] == settings.LANGUAGE_CODE
    for role in ("engineer", "executive"):
        assert api(role).get(preview, {"lang": "fa"}).status_code == 403, role
    assert api("norole").get(preview).status_code == 403
    assert client_for(None).get(preview).status_code == 401
    assert api("legal").get(url(breach, made["id"] + 5, "preview")).status_code == 404


# --- the spec ---------------------------------------------------------------------------------


def test_the_campaign_machine_names_exactly_the_models_transitions():
    machine: Machine = CAMPAIGN
    assert set(machine.names) == {t.name for t in machine.transitions()}
    described = {key.name for key in machine.keys}
    for step in machine.steps:
        assert set(step.requires) <= set(step.accepts) <= described, step.name
    assert all(key.max_length for key in machine.keys)
    # the worker's steps are no person's: no page or API offers them
    assert machine.who("start_sending") == machine.who("finish") == frozenset()
    assert machine.who("approve") == machine.who("cancel") == {"legal", "admin"}


def test_the_worker_steps_are_refused_to_people(users, legal2, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    campaign, _ = approve_campaign(campaign, actor=legal2)
    from incidents.errors import RoleForbidden

    with pytest.raises(RoleForbidden):
        CAMPAIGN.run(campaign, "start_sending", actor=users["admin"])


def test_the_schema_documents_the_campaign_answers(api):
    schema = api("legal").get("/api/schema/", {"format": "json"}).json()
    base = "/api/incidents/{reference}/notice-campaigns/"
    assert {"get", "post"} <= set(schema["paths"][base])
    assert "201" in schema["paths"][base]["post"]["responses"]
    for action in ("approve", "cancel"):
        codes = set(schema["paths"][f"{base}{{id}}/{action}/"]["post"]["responses"])
        assert {"200", "400", "403", "404", "409", "412"} <= codes, action
    preview = schema["paths"][f"{base}{{id}}/preview/"]["get"]
    assert {"200", "400", "403", "404"} <= set(preview["responses"])
    counts = schema["components"]["schemas"]["Counts"]["properties"]
    assert counts["first_sent_at"]["nullable"] is True and "by_channel" in counts
