"""The people affected on the incident page (issue 18): the register's counts, import and one
person, the register's own page, and the notice campaigns (draft, preview, four eyes, cancel,
progress). Legal and admins do it all, executives follow the numbers, engineers see neither;
contact data reaches legal's and admins' pages only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from incidents.affected.campaigns import approve_campaign, draft_campaign
from incidents.affected.decision import record_decision
from incidents.affected.register import add_person
from incidents.affected.sending import advance_campaigns
from incidents.lifecycle import update_incident
from incidents.models import AccessKind, AccessRecord, AffectedPerson, Event, Notice, NoticeCampaign
from tests.affected.register_helpers import PEOPLE, csv_bytes
from tests.conftest import make_user
from tests.frontend import helpers

# What the fixtures' people would show if a page leaked them: names, addresses, mobiles (as
# typed and as the register normalises them) and customer ids.
CONTACT_DATA = (
    "علی رضایی",
    "Sara Ahmadi",
    "Ali.Rezaei@example.com",
    "sara@example.org",
    "+989121234567",
    "+989127654321",
    "+989351112233",
    "C-1001",
    "C-1002",
)


def browser(user: Any, **headers: str) -> Client:
    """A signed-in client reading English (Latin digits) unless told otherwise."""
    headers.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    return helpers.browser(user, **headers)


def page_url(incident: Any) -> str:
    return f"/incidents/{incident.reference}/"


def people_of(rows: list[tuple[str, ...]]) -> list[dict[str, str]]:
    keys = ("customer_id", "name", "email", "mobile", "language")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@pytest.fixture
def legal2(users: dict[str, Any]) -> Any:
    users["legal2"] = make_user("legal2", "legal")
    return users["legal2"]


@pytest.fixture
def breach(users: dict[str, Any], incident_in: Any) -> Any:
    """A breach being restored that leaked contacts and bank accounts, with the three people
    of register_helpers.PEOPLE in its register."""
    incident = incident_in("restoring")
    incident, _ = update_incident(
        incident,
        actor=users["engineer"],
        changes={"data_categories": ["identity", "contact", "bank_account"]},
    )
    for person in people_of(PEOPLE):
        add_person(incident, person, actor=users["legal"])
    return incident


def upload(content: bytes, **extra: Any) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("people.csv", content, content_type="text/csv"), **extra}


def html(response: Any) -> str:
    return response.content.decode()


def section(body: str, ident: str) -> str:
    """The <section id=...> of a page, to look for what it shows and nothing else."""
    found = re.search(rf'<section[^>]*id="{ident}".*?</section>', body, re.S)
    assert found, f"no section {ident}"
    return found.group(0)


# --- who sees what ------------------------------------------------------------------------


def test_engineer_sees_neither_part_and_every_view_refuses_them(users, breach):
    client = browser(users["engineer"])
    body = html(client.get(page_url(breach)))
    assert 'id="people"' not in body and 'id="notices"' not in body
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    base = page_url(breach)
    for url in (
        f"{base}affected-people/",
        f"{base}affected-people/live/",
        f"{base}notice-campaigns/{campaign.pk}/preview/?lang=fa",
    ):
        assert client.get(url).status_code == 403, url
    posts = {
        f"{base}affected-people/import/": upload(csv_bytes(PEOPLE)),
        f"{base}affected-people/add/": {"customer_id": "C-9", "email": "x@example.com"},
        f"{base}notice-campaigns/": {"source": "templates"},
        f"{base}notice-campaigns/{campaign.pk}/approve/": {"version": campaign.version},
        f"{base}notice-campaigns/{campaign.pk}/cancel/": {"version": 1, "reason": "no"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.DRAFT
    assert AffectedPerson.objects.filter(incident=breach).count() == 3


def test_executive_follows_counts_and_progress_read_only(users, breach, legal2):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    client = browser(users["executive"])
    body = html(client.get(page_url(breach)))
    people = section(body, "people")
    assert re.search(r'class="people">3<', people)
    assert re.search(r'class="with-email">2<', people)
    assert re.search(r'class="with-mobile">3<', people)
    notices = section(body, "notices")
    assert f'id="campaign-{campaign.pk}-status"' in notices
    # No forms, no register, no preview for them.
    for absent in ("<form", 'affected-people/"', "/preview/", "register-link"):
        assert absent not in people + notices, absent
    assert client.get(f"{page_url(breach)}affected-people/").status_code == 403
    live = client.get(f"{page_url(breach)}affected-people/live/")
    assert live.status_code == 200
    assert f'id="campaign-{campaign.pk}-status"' in html(live)
    response = client.post(
        f"{page_url(breach)}notice-campaigns/{campaign.pk}/approve/", {"version": 1}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["engineer", "executive"])
def test_no_contact_data_in_any_page_of_non_legal_roles(users, breach, legal2, role):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    approve_campaign(campaign, actor=legal2)
    advance_campaigns()
    client = browser(users[role])
    pages = [page_url(breach), "/", "/campaigns-in-flight/", "/incidents/"]
    if role == "executive":
        pages.append(f"{page_url(breach)}affected-people/live/")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = html(response).lower()
        for value in CONTACT_DATA:
            assert value.lower() not in text, (url, value)


def test_legal_sees_forms_and_the_register_link_but_no_contact_data_on_the_incident_page(
    users, breach
):
    body = html(browser(users["legal"]).get(page_url(breach)))
    people = section(body, "people")
    assert 'enctype="multipart/form-data"' in people
    assert 'name="dry_run"' in people
    assert 'id="register-link"' in people
    assert 'name="csrfmiddlewaretoken"' in people
    for value in CONTACT_DATA:
        assert value not in body  # the people are on the register's own page only
    assert 'id="campaign-draft"' in section(body, "notices")


def test_the_notices_link_the_public_page_once_legal_decided_to_notify(users, breach):
    legal = browser(users["legal"])
    assert 'id="public-notice-link"' not in html(legal.get(page_url(breach)))
    record_decision(breach, actor=users["legal"], outcome="notify", reason="Bank accounts.")
    notices = section(html(legal.get(page_url(breach))), "notices")
    link = re.search(r'id="public-notice-link".*?<a href="([^"]+)"', notices, re.S)
    assert link, notices
    path = link.group(1).split("://", 1)[1].split("/", 1)[1]
    assert Client().get(f"/{path}").status_code == 200  # the page anyone may open


# --- the register: import, one person, the list ------------------------------------------


def test_legal_imports_a_csv_from_the_page(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["legal"])
    response = client.post(
        f"{page_url(incident)}affected-people/import/", upload(csv_bytes(PEOPLE))
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#people")
    assert AffectedPerson.objects.filter(incident=incident).count() == 3
    assert Event.objects.filter(incident=incident, kind="register.imported").count() == 1
    body = html(client.get(response["Location"]))
    assert "3 people imported, 0 skipped" in body
    assert re.search(r'class="people">3<', section(body, "people"))


def test_an_invalid_csv_lists_each_wrong_line_and_imports_nobody(users, incident_in):
    incident = incident_in("scoping")
    rows = [PEOPLE[0], ("C-2", "Bad", "not-an-email", "", "fa"), ("C-3", "", "", "12", "de")]
    response = browser(users["legal"]).post(
        f"{page_url(incident)}affected-people/import/", upload(csv_bytes(rows)), follow=True
    )
    helpers.shown_again(response)
    result = re.search(r'<div id="import-result".*?</table>', html(response), re.S).group(0)
    lines = re.findall(r'<td class="line">(\d+)</td><td>(\w+)</td>', result)
    assert ("3", "email") in lines
    assert ("4", "mobile") in lines and ("4", "language") in lines
    assert "nothing was imported" in result
    assert AffectedPerson.objects.filter(incident=incident).count() == 0
    assert 'id="people-import"' in html(response) and "<details open" in html(response)


def test_a_dry_run_imports_nobody_and_says_what_would_be_imported(users, breach):
    rows = [*PEOPLE, ("C-4", "New", "new@example.com", "", "en")]
    response = browser(users["legal"]).post(
        f"{page_url(breach)}affected-people/import/",
        upload(csv_bytes(rows), dry_run="on"),
        follow=True,
    )
    helpers.shown_again(response)
    result = section(html(response), "people")
    assert "Dry run: nobody was imported." in result
    assert "1 would be imported, 3 skipped" in result
    assert AffectedPerson.objects.filter(incident=breach).count() == 3
    assert not Event.objects.filter(incident=breach, kind="register.imported").exists()


def test_an_import_without_a_file_is_a_400_on_the_form(users, breach):
    response = browser(users["legal"]).post(
        f"{page_url(breach)}affected-people/import/", {}, follow=True
    )
    helpers.shown_again(response)
    assert re.search(r'class="field invalid">\s*<label for="id_file"', html(response))


def test_an_import_over_the_size_limit_is_a_413_page_not_a_500(users, breach, settings):
    content = csv_bytes(PEOPLE)
    settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES = len(content) - 1
    response = browser(users["legal"]).post(
        f"{page_url(breach)}affected-people/import/", upload(content), follow=True
    )
    helpers.shown_again(response)
    assert "AFFECTED_PEOPLE_IMPORT_MAX_BYTES" in html(response)
    assert AffectedPerson.objects.filter(incident=breach).count() == 3


def test_the_import_checks_csrf(users, breach):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["legal"])
    response = client.post(
        f"{page_url(breach)}affected-people/import/",
        upload(csv_bytes([("C-9", "", "nine@example.com", "", "fa")])),
    )
    assert response.status_code == 403
    assert AffectedPerson.objects.filter(incident=breach).count() == 3


def test_legal_adds_one_person_and_wrong_fields_are_shown_on_the_form(users, breach):
    client = browser(users["legal"])
    url = f"{page_url(breach)}affected-people/add/"
    response = client.post(
        url, {"customer_id": "C-9", "email": "nope", "language": "fa"}, follow=True
    )
    helpers.shown_again(response)
    form = re.search(r'action="[^"]*affected-people/add/".*?</form>', html(response), re.S)
    assert 'class="field invalid">' in form.group(0)
    assert 'value="nope"' in form.group(0)  # what was typed is kept
    response = client.post(url, {"customer_id": "C-9", "mobile": "۰۹۱۲۰۰۰۱۱۲۲", "language": "en"})
    assert response.status_code == 302
    assert AffectedPerson.objects.filter(incident=breach).count() == 4
    again = client.post(
        url, {"customer_id": "C-9", "email": "n@example.com", "language": "en"}, follow=True
    )
    helpers.shown_again(again)
    assert "already in this incident" in html(again)


def test_closed_incident_register_takes_nobody_and_says_so(users, incident_in):
    incident = incident_in("closed")
    client = browser(users["legal"])
    body = html(client.get(page_url(incident)))
    assert "takes nobody more" in section(body, "people")
    response = client.post(
        f"{page_url(incident)}affected-people/add/",
        {"customer_id": "C-9", "email": "n@example.com", "language": "en"},
        follow=True,
    )
    helpers.shown_again(response)


def test_the_register_page_shows_people_a_page_at_a_time_and_logs_each_read(
    users, breach, monkeypatch
):
    from frontend.views import register

    monkeypatch.setattr(register, "PAGE_SIZE", 2)
    client = browser(users["legal"])
    first = client.get(f"{page_url(breach)}affected-people/")
    assert first.status_code == 200
    body = html(first)
    assert "Ali.Rezaei@example.com" in body and "sara@example.org" in body
    assert "+989351112233" not in body
    after = re.search(r'\?after=(\d+)" rel="next"', body).group(1)
    second = html(client.get(f"{page_url(breach)}affected-people/?after={after}"))
    assert "+989351112233" in second and "sara@example.org" not in second
    assert 'rel="next"' not in second
    reads = AccessRecord.objects.filter(incident=breach, kind=AccessKind.REGISTER_READ)
    assert [r.username for r in reads] == ["legal", "legal"]
    assert all(r.target.startswith("register:") for r in reads)


# --- notices: draft, preview, four eyes, cancel ------------------------------------------


def test_four_eyes_on_the_page(users, breach, legal2):
    drafter = browser(users["legal"])
    response = drafter.post(f"{page_url(breach)}notice-campaigns/", {"source": "templates"})
    assert response.status_code == 302 and response["Location"].endswith("#notices")
    campaign = NoticeCampaign.objects.get(incident=breach)
    notices = section(html(drafter.get(page_url(breach))), "notices")
    assert f'id="four-eyes-{campaign.pk}"' in notices
    assert "a second legal user or an admin must approve it" in notices
    assert "/approve/" not in notices
    approve = f"{page_url(breach)}notice-campaigns/{campaign.pk}/approve/"
    refused = drafter.post(approve, {"version": campaign.version})
    assert refused.status_code == 403
    assert "You drafted this notice" in html(refused)
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.DRAFT

    second = browser(legal2)
    notices = section(html(second.get(page_url(breach))), "notices")
    assert approve in notices and f'id="four-eyes-{campaign.pk}"' not in notices
    assert second.post(approve, {"version": campaign.version}).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.state, campaign.approved_by) == (NoticeCampaign.APPROVED, legal2)


def test_an_approval_on_an_old_version_is_a_412(users, breach, legal2):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    url = f"{page_url(breach)}notice-campaigns/{campaign.pk}/approve/"
    response = browser(legal2).post(url, {"version": campaign.version + 1}, follow=True)
    helpers.shown_again(response)
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.DRAFT


def test_approving_with_nobody_to_notify_says_why(users, incident_in, legal2):
    incident = incident_in("scoping")
    campaign, _ = draft_campaign(incident, actor=users["legal"])
    url = f"{page_url(incident)}notice-campaigns/{campaign.pk}/approve/"
    response = browser(legal2).post(url, {"version": campaign.version}, follow=True)
    helpers.shown_again(response)
    assert "holds nobody left to notify" in html(response)


def test_a_draft_with_own_texts_and_a_refused_tag_shows_the_error_on_its_field(users, breach):
    client = browser(users["legal"])
    texts = {
        "source": "texts",
        "subject_fa": "اطلاعیه",
        "subject_en": "Notice",
        "body_fa": "{% load static %}سلام {{ name }}",
        "body_en": "Dear {{ name }}, {{ advice|join:' ' }}",
    }
    response = client.post(f"{page_url(breach)}notice-campaigns/", texts, follow=True)
    helpers.shown_again(response)
    draft = re.search(r'<details open id="campaign-draft">.*?</details>', html(response), re.S)
    assert draft, "the draft form stays open"
    field = re.search(
        r'<div class="field invalid">\s*<label for="id_body_fa".*?</div>', draft.group(0), re.S
    )
    assert field and "body.fa" in field.group(0)
    assert not NoticeCampaign.objects.filter(incident=breach).exists()
    texts["body_fa"] = "سلام {{ name }}"
    assert client.post(f"{page_url(breach)}notice-campaigns/", texts).status_code == 302
    campaign = NoticeCampaign.objects.get(incident=breach)
    assert campaign.subject == {"fa": "اطلاعیه", "en": "Notice"}


def test_preview_in_both_languages_for_a_sample_reader_logged(users, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    url = f"{page_url(breach)}notice-campaigns/{campaign.pk}/preview/"
    fa = client.get(f"{url}?lang=fa")
    assert fa.status_code == 200
    body = html(fa)
    assert re.search(r'id="preview-text" lang="fa" dir="rtl">[^<]*علی رضایی', body)
    assert 'id="preview-sms" lang="fa" dir="rtl"' in body
    en = html(client.get(f"{url}?lang=en"))
    assert re.search(r'id="preview-text" lang="en" dir="ltr">[^<]*Sara Ahmadi', en)
    assert "علی رضایی" not in en
    targets = AccessRecord.objects.filter(incident=breach, kind=AccessKind.REGISTER_READ)
    assert {r.target.split(":")[0] for r in targets} == {"notice-preview"}
    assert targets.count() == 2
    assert client.get(f"{url}?lang=de").status_code == 400


def test_preview_without_a_reader_of_that_language_uses_a_made_up_one(users, incident_in):
    incident = incident_in("scoping")
    campaign, _ = draft_campaign(incident, actor=users["legal"])
    body = html(
        browser(users["admin"]).get(
            f"{page_url(incident)}notice-campaigns/{campaign.pk}/preview/?lang=en"
        )
    )
    assert "[Sample Customer]" in body
    assert not AccessRecord.objects.filter(incident=incident).exists()


def test_cancel_asks_for_a_reason_then_cancels(users, breach):
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    client = browser(users["legal"])
    url = f"{page_url(breach)}notice-campaigns/{campaign.pk}/cancel/"
    response = client.post(url, {"version": campaign.version, "reason": ""}, follow=True)
    helpers.shown_again(response)
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.DRAFT
    assert (
        client.post(url, {"version": campaign.version, "reason": "Wrong text"}).status_code == 302
    )
    campaign.refresh_from_db()
    assert (campaign.state, campaign.cancelled_reason) == (NoticeCampaign.CANCELLED, "Wrong text")
    notices = section(html(client.get(page_url(breach))), "notices")
    assert "Wrong text" in notices and "/cancel/" not in notices


# --- progress -----------------------------------------------------------------------------


def sending_campaign(users: dict[str, Any], incident: Any, approver: Any, plan: int) -> Any:
    """A campaign the worker started and planned ``plan`` notices of; of those, the first two
    sent, the next failed (to be retried), the next dead, the rest queued."""
    campaign, _ = draft_campaign(incident, actor=users["legal"])
    approve_campaign(campaign, actor=approver)
    advance_campaigns(limit=plan)
    ids = list(Notice.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    Notice.objects.filter(id__in=ids[:2]).update(status=Notice.SENT)
    Notice.objects.filter(id__in=ids[2:3]).update(status=Notice.FAILED)
    Notice.objects.filter(id__in=ids[3:4]).update(status=Notice.DEAD)
    campaign.refresh_from_db()
    return campaign


def bar_parts(body: str) -> dict[str, tuple[int, int]]:
    return {
        part: (int(x), int(width))
        for part, x, width in re.findall(
            r'<rect class="p-\w+" data-part="(\w+)" x="(\d+)" y="0" width="(\d+)"', body
        )
    }


@pytest.fixture
def five_people(breach, users):
    for n in (4, 5):
        add_person(
            breach,
            {"customer_id": f"C-{n}", "email": f"p{n}@example.com", "language": "en"},
            actor=users["legal"],
        )
    return breach


def test_progress_bar_shows_sent_failed_dead_and_waiting_by_width(users, five_people, legal2):
    campaign = sending_campaign(users, five_people, legal2, plan=4)  # one person left to plan
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    status = re.search(
        rf'<div class="campaign-status" id="campaign-{campaign.pk}-status".*?</div>',
        html(client.get(page_url(five_people))),
        re.S,
    ).group(0)
    assert bar_parts(status) == {
        "sent": (0, 400),
        "failed": (400, 200),
        "dead": (600, 200),
        "waiting": (800, 200),
    }
    assert re.search(r'class="n-planned">4<', status)
    assert re.search(r'class="n-left">1<', status)
    assert re.search(r'class="n-sent">2<', status) and re.search(r'class="n-dead">1<', status)
    assert 'aria-label="2 of 5 sent"' in status
    assert ' style="' not in status


def test_persian_progress_bar_starts_on_the_right_with_persian_digits(users, five_people, legal2):
    campaign = sending_campaign(users, five_people, legal2, plan=4)
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="fa")
    body = html(client.get(page_url(five_people)))
    status = re.search(
        rf'<div class="campaign-status" id="campaign-{campaign.pk}-status".*?</div>', body, re.S
    ).group(0)
    assert bar_parts(status) == {
        "sent": (600, 400),
        "failed": (400, 200),
        "dead": (200, 200),
        "waiting": (0, 200),
    }
    assert re.search(r'class="n-sent">۲<', status)
    assert re.search(r'class="people">۵<', section(body, "people"))


def test_the_section_polls_while_a_campaign_is_in_flight_and_stops_after(
    users, five_people, legal2
):
    client = browser(users["legal"])
    idle = html(client.get(page_url(five_people)))
    poll = re.search(r'<div id="notices-poll"[^>]*>', idle).group(0)
    assert "hx-trigger" not in poll
    campaign = sending_campaign(users, five_people, legal2, plan=4)
    live_url = f"{page_url(five_people)}affected-people/live/"
    poll = re.search(r'<div id="notices-poll"[^>]*>', html(client.get(page_url(five_people))))
    assert 'hx-trigger="every 5s"' in poll.group(0) and live_url in poll.group(0)
    fragment = html(client.get(live_url, HTTP_HX_REQUEST="true"))
    assert 'hx-trigger="every 5s"' in fragment
    assert f'id="campaign-{campaign.pk}-status" data-state="sending" hx-swap-oob="true"' in fragment
    assert '<dl id="people-counts" hx-swap-oob="true">' in fragment
    assert "<form" not in fragment  # a refresh never replaces what someone is typing
    from incidents.affected.campaigns import cancel_campaign

    cancel_campaign(campaign, actor=users["legal"], reason="stop")
    fragment = html(client.get(live_url, HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in fragment
    assert 'data-state="cancelled"' in fragment


# --- the dashboard ------------------------------------------------------------------------


def in_flight(users: dict[str, Any], incident_in: Any, approver: Any, count: int) -> None:
    for n in range(count):
        incident = incident_in("scoping", title=f"Leak {n}")
        add_person(
            incident,
            {"customer_id": f"D-{n}", "email": f"d{n}@example.com", "language": "fa"},
            actor=users["legal"],
        )
        campaign, _ = draft_campaign(incident, actor=users["legal"])
        approve_campaign(campaign, actor=approver)


def dashboard_queries(client: Client, url: str = "/") -> int:
    """The queries of a cold request: the shared render and the figures kept between changes
    (frontend/metrics.py ``kept``) are read afresh, so two counts compare like for like."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_dashboard_lists_campaigns_in_flight_in_a_bounded_number_of_queries(
    users, incident_in, legal2
):
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    in_flight(users, incident_in, legal2, 2)
    few = dashboard_queries(client)
    few_panel = dashboard_queries(client, "/campaigns-in-flight/")
    in_flight(users, incident_in, legal2, 8)
    assert dashboard_queries(client) == few
    assert dashboard_queries(client, "/campaigns-in-flight/") == few_panel
    panel = section(html(client.get("/")), "campaigns-in-flight")
    assert len(re.findall(r"<li data-campaign=", panel)) == 10
    assert 'hx-trigger="every 10s"' in panel
    assert "Approved" in panel and "INC-" in panel


def test_dashboard_hides_campaigns_of_restricted_incidents_and_says_when_none(
    users, incident_in, legal2
):
    from incidents.need_to_know import change_restriction

    in_flight(users, incident_in, legal2, 1)
    incident = NoticeCampaign.objects.get().incident
    change_restriction(incident, actor=users["admin"], restricted=True, members=[])
    # An executive is no member of it; an admin reads every incident.
    body = section(html(browser(users["executive"]).get("/")), "campaigns-in-flight")
    assert incident.reference not in body
    assert "No notice is being sent." in body and "hx-trigger" not in body
    assert incident.reference in section(
        html(browser(users["admin"]).get("/")), "campaigns-in-flight"
    )


def test_the_incident_page_costs_the_same_queries_with_more_campaigns(users, breach, legal2):
    from incidents.affected.campaigns import cancel_campaign

    def drafts(count: int) -> None:
        for _n in range(count):
            campaign, _ = draft_campaign(breach, actor=users["legal"])
            cancel_campaign(campaign, actor=users["legal"], reason="again")

    client = browser(legal2)
    drafts(1)
    one = dashboard_queries(client, page_url(breach))
    drafts(6)
    assert dashboard_queries(client, page_url(breach)) == one
    assert len(re.findall(r'<article class="campaign"', html(client.get(page_url(breach))))) == 7


def test_a_campaign_of_another_incident_is_a_404(users, breach, incident_in, legal2):
    other = incident_in("scoping")
    campaign, _ = draft_campaign(breach, actor=users["legal"])
    client = browser(legal2)
    base = f"{page_url(other)}notice-campaigns/{campaign.pk}"
    assert client.get(f"{base}/preview/?lang=fa").status_code == 404
    assert client.post(f"{base}/approve/", {"version": campaign.version}).status_code == 404
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.DRAFT
