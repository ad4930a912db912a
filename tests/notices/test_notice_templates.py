"""The notice templates: seeded in Persian and English by the migration, chosen for a campaign by
the leaked categories, edited by admins (checked like a campaign's texts), never overwritten."""

from __future__ import annotations

import pytest
from django.test import Client

from incidents.affected.campaigns import check_texts, draft_campaign
from incidents.affected.notice_templates import KINDS, seed_notice_templates, texts_from_templates
from incidents.choices import DataCategory
from incidents.errors import InvalidChange
from incidents.models import NoticeTemplate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("notice_settings")


def test_the_migration_seeded_every_template_in_both_languages(db):
    seeded = set(NoticeTemplate.objects.values_list("kind", "language"))
    assert seeded == {(kind, lang) for kind in KINDS for lang in ("fa", "en")}
    base = NoticeTemplate.objects.get(kind="base", language="fa")
    assert base.subject == "اطلاعیهٔ مهم {{ company }}: رویداد امنیتی و اطلاعات شما"
    assert base.body.startswith("{% if name %}{{ name }} گرامی،")
    # every seeded text passes the sandbox a campaign's texts pass
    for template in NoticeTemplate.objects.all():
        from incidents.affected.letters import check_source

        check_source(template.body, template.kind)
        check_source(template.subject or "-", template.kind)


def test_the_advice_follows_the_leaked_categories(users, incident_in):
    incident = incident_in("restoring")  # the fixture's scope: contact and identity
    texts = texts_from_templates(incident)
    assert [b["category"] for b in texts["advice"]["en"]] == ["identity", "contact"]
    incident.data_categories = ["payment_card", "cookies", "legal_entity_ids"]
    texts = texts_from_templates(incident)
    for lang in ("fa", "en"):
        got = [b["category"] for b in texts["advice"][lang]]
        assert got == ["legal_entity_ids", "payment_card", "cookies"]  # the vocabulary's order
    assert "CVV2" in texts["advice"]["fa"][1]["text"]
    assert "سامانهٔ مودیان" in texts["advice"]["fa"][0]["text"]
    check_texts(texts)


def test_a_campaign_keeps_the_texts_it_was_drafted_with(users, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    NoticeTemplate.objects.filter(kind="base", language="en").update(body="Changed later.")
    campaign.refresh_from_db()
    assert campaign.body["en"].startswith("{% if name %}Dear {{ name }},")


def test_seeding_again_adds_what_is_missing_and_keeps_admins_edits(db):
    NoticeTemplate.objects.filter(kind="base", language="en").update(subject="Our own subject")
    NoticeTemplate.objects.filter(kind=DataCategory.COOKIES, language="fa").delete()
    assert seed_notice_templates() == ["cookies.fa"]
    assert NoticeTemplate.objects.get(kind="base", language="en").subject == "Our own subject"


def test_a_draft_from_templates_an_admin_deleted_is_a_clear_400(api, breach):
    NoticeTemplate.objects.filter(kind="base", language="en").delete()
    response = api("legal").post(
        f"/api/incidents/{breach.reference}/notice-campaigns/", {}, format="json"
    )
    assert response.status_code == 400 and "templates" in response.json()
    with pytest.raises(InvalidChange):
        texts_from_templates(breach)


def admin_client(users) -> Client:
    client = Client()
    assert client.login(username="admin", password=PASSWORD)
    return client


def test_admins_edit_a_template_and_a_broken_one_is_refused(users):
    client = admin_client(users)
    template = NoticeTemplate.objects.get(kind="sms", language="en")
    change = f"/admin/incidents/noticetemplate/{template.pk}/change/"
    form = {
        "kind": "sms",
        "language": "en",
        "subject": "",
        "body": "{{ company }}: see {{ notice_url }}",
    }
    assert client.post(change, form).status_code == 302
    assert NoticeTemplate.objects.get(pk=template.pk).body == form["body"]
    for body in ('{% include "x" %}', "{% if %}", "x" * 501):
        response = client.post(change, {**form, "body": body})
        assert response.status_code == 200 and "errornote" in response.content.decode(), body
    assert NoticeTemplate.objects.get(pk=template.pk).body == form["body"]
    bad_kind = client.post(change, {**form, "kind": "nonsense"})
    assert bad_kind.status_code == 200
