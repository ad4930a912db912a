"""Language order, RTL/Jalali/Persian digits, time zones, escaping and the CSP."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from core.models import Profile
from incidents.legal.evidence import open_for_download, store_evidence
from incidents.legal.obligations import apply_obligation_transition
from incidents.legal.referrals import apply_referral_transition, create_referral
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import JurisdictionRule, Obligation
from incidents.notes import add_note
from tests.conftest import SCOPE, complete_required_tasks, finish_review
from tests.frontend.helpers import browser, shown_again

MOMENT = dt.datetime(2026, 3, 21, 10, 0, tzinfo=dt.UTC)  # 13:30 in Tehran, 1 Farvardin 1405


def html_lang(response) -> tuple[str, str]:
    match = re.search(r'<html lang="(\w+)" dir="(\w+)">', response.content.decode())
    return match.group(1), match.group(2)


def test_default_language_is_persian_right_to_left(users):
    assert html_lang(browser(users["executive"]).get("/")) == ("fa", "rtl")


def test_accept_language_beats_the_default(users):
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert html_lang(client.get("/")) == ("en", "ltr")


def test_cookie_beats_accept_language(users):
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "fa"
    assert html_lang(client.get("/")) == ("fa", "rtl")


def test_saved_choice_beats_cookie_and_accept_language(users):
    Profile.objects.create(user=users["executive"], language="en")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="fa")
    client.cookies["django_language"] = "fa"
    assert html_lang(client.get("/")) == ("en", "ltr")


def test_login_page_follows_accept_language_without_a_user(db):
    assert html_lang(browser(HTTP_ACCEPT_LANGUAGE="en").get("/login/")) == ("en", "ltr")


def test_switching_language_saves_the_choice_for_a_signed_in_user(users):
    Profile.objects.create(user=users["executive"], language="en")
    client = browser(users["executive"])
    response = client.post("/i18n/setlang/", {"language": "fa", "next": "/incidents/"})
    assert response.status_code == 302 and response.headers["Location"] == "/incidents/"
    assert Profile.objects.get(user=users["executive"]).language == "fa"
    assert html_lang(client.get("/incidents/")) == ("fa", "rtl")


def test_persian_pages_show_jalali_dates_with_persian_digits(users, incident_in):
    incident = incident_in("detected", detected_at=MOMENT)
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "۱۴۰۵/۰۱/۰۱ ۱۳:۳۰" in html
    # Only the machine-readable datetime attribute of a <time> holds the ISO moment.
    assert "2026-03-21" not in re.sub(r'datetime="[^"]*"', "", html)


def test_english_pages_show_gregorian_dates_in_the_users_zone(users, incident_in):
    incident = incident_in("detected", detected_at=MOMENT)
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    assert "2026-03-21 13:30" in client.get(f"/incidents/{incident.reference}/").content.decode()
    Profile.objects.create(user=users["executive"], time_zone="Europe/Berlin")
    assert "2026-03-21 11:00" in client.get(f"/incidents/{incident.reference}/").content.decode()


def test_profile_saves_language_and_time_zone(users):
    client = browser(users["engineer"])
    response = client.post("/profile/", {"language": "en", "time_zone": "UTC"})
    assert response.status_code == 302
    saved = Profile.objects.get(user=users["engineer"])
    assert (saved.language, saved.time_zone) == ("en", "UTC")
    # Said so, in the language just chosen.
    assert '<ul class="messages"><li>Saved.</li></ul>' in client.get("/profile/").content.decode()


@pytest.mark.parametrize(
    "post",
    [{"language": "de", "time_zone": "UTC"}, {"language": "en", "time_zone": "Mars/Olympus"}],
)
def test_profile_refuses_unknown_values_back_on_its_page(users, post):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/profile/", post, follow=True)
    html = shown_again(response)
    assert response.redirect_chain[0][0] == "/profile/#error-summary"
    assert 'class="error-summary"' in html and 'aria-invalid="true"' in html
    assert Profile.objects.get(user=users["engineer"]).time_zone != "Mars/Olympus"
    # Shown once: a reload is the plain page, and sends nothing again.
    assert 'class="error-summary"' not in client.get("/profile/").content.decode()


EVIL = "<img src=x onerror=alert(1)>"


def written(field: str) -> str:
    """The attacker's text for one field: the same tag, told apart by the field's name."""
    return f"{EVIL} {field}"


def incidents_written_by_an_attacker(users, incident_in) -> tuple[Any, Any]:
    """Two incidents whose every user-written text holds a tag, each written the way people
    write it (the domain functions the pages, the API and Telegram call): an open one with
    scope, restoration, notes, a withdrawn referral, legal deadlines of an admin-written rule
    and evidence; and one closed without referral."""
    closed = incident_in("restored", title=written("closed title"))
    finish_review(closed, users["engineer"], root_cause=written("root cause"))
    apply_transition(
        closed, "close", actor=users["legal"], payload={"reason": written("no referral")}
    )
    JurisdictionRule.objects.create(
        code="BANK",
        title=written("rule title"),
        steps=[
            {
                "key": key,
                "name": written(f"{key} step"),
                "recipient": written(f"{key} recipient"),
                "offset_hours": hours,
            }
            for key, hours in (("tell_bank", 48), ("tell_board", 96))
        ],
    )
    engineer, legal = users["engineer"], users["legal"]
    incident = incident_in("detected", title=written("title"), summary=written("summary"))
    incident, _ = apply_transition(
        incident, "start_scoping", actor=engineer, payload={"note": written("remark")}
    )
    scope = {
        **SCOPE,
        "source_details": written("source details"),
        "affected_systems": [{"name": written("system"), "hosting": "provider"}],
    }
    incident, _ = update_incident(incident, actor=engineer, changes=scope)
    complete_required_tasks(incident, engineer, second=users["admin"])
    incident, _ = apply_transition(incident, "start_restoration", actor=engineer, payload={})
    complete_required_tasks(incident, engineer, second=users["admin"])
    payload = {"restoration_summary": written("restoration")}
    incident, _ = apply_transition(incident, "mark_restored", actor=engineer, payload=payload)
    add_note(incident, actor=engineer, text=written("note"))
    referral, _ = create_referral(
        incident,
        actor=legal,
        data={
            "authority": "other",
            **{key: written(key) for key in ("authority_name", "case_number", "contact", "notes")},
        },
    )
    referral, _ = apply_referral_transition(referral, "submit", actor=legal, payload={})
    apply_referral_transition(
        referral, "withdraw", actor=legal, payload={"reason": written("withdrawn")}
    )
    bank = Obligation.objects.get(incident=incident, step_key="tell_bank")
    apply_obligation_transition(
        bank, "fulfil", actor=legal, payload={"note": written("obligation note")}
    )
    upload = SimpleUploadedFile(written("file name"), b"access log", "text/plain")
    evidence, _ = store_evidence(
        incident,
        actor=legal,
        upload=upload,
        description=written("evidence description"),
        note=written("upload note"),
    )
    open_for_download(evidence, actor=legal, note=written("download note")).close()
    return incident, closed


# What each page shows of the attacker's texts (the templates under frontend/templates/);
# texts kept only in events or shown nowhere (a transition's remark, a referral's contact and
# notes, a rule's title) must still never appear raw.
SHOWN = {
    "dashboard": ["title", "tell_board step", "tell_board recipient"],
    "list": ["title", "closed title"],
    "incident": [
        "title",
        "summary",
        "system",
        "restoration",
        "note",
        "authority_name",
        "case_number",
        "withdrawn",
        "tell_bank step",
        "tell_bank recipient",
        "obligation note",
        "tell_board step",
        "file name",
        "evidence description",
        "upload note",
        "download note",
    ],
    "closed incident": ["closed title", "no referral"],
}
# Editors also see the edit forms, filled with what is there.
SHOWN_TO_EDITORS = {"incident": ["source details"]}


@pytest.mark.parametrize("language", ["fa", "en"])
@pytest.mark.parametrize("role", ["executive", "admin"])
def test_user_text_is_escaped_everywhere(users, incident_in, settings, tmp_path, role, language):
    settings.MEDIA_ROOT = tmp_path / "media"
    incident, closed = incidents_written_by_an_attacker(users, incident_in)
    client = browser(users[role], HTTP_ACCEPT_LANGUAGE=language)
    paths = {
        "dashboard": "/",
        "list": "/incidents/",
        "incident": f"/incidents/{incident.reference}/",
        "closed incident": f"/incidents/{closed.reference}/",
    }
    for page, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert EVIL not in html, page
        assert "<img" not in html, page
        for field in SHOWN[page] + (SHOWN_TO_EDITORS.get(page, []) if role == "admin" else []):
            assert escape(written(field)) in html, (page, field)


@pytest.mark.parametrize("path", ["/", "/incidents/", "/profile/", "/login/", "INCIDENT"])
def test_pages_carry_a_strict_csp_and_no_inline_script_or_style(users, incident_in, path):
    incident = incident_in("restored")
    path = f"/incidents/{incident.reference}/" if path == "INCIDENT" else path
    client = browser(None if path == "/login/" else users["engineer"])
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="' in tag or 'type="application/json"' in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_static_files_are_served_including_htmx_from_django_htmx(users):
    client = browser(users["engineer"])
    html = client.get("/").content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert any("django_htmx" in s for s in scripts)
    for src in scripts + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        response = client.get(src)
        assert response.status_code == 200, src
        response.close()


def test_profile_hands_out_a_single_use_telegram_deep_link(users, settings):
    from notifier.models import LinkToken

    settings.TELEGRAM_BOT_USERNAME = "breach_desk_bot"
    client = browser(users["engineer"])
    assert LinkToken.objects.count() == 0  # viewing the profile writes nothing
    client.get("/profile/")
    assert LinkToken.objects.count() == 0
    html = client.post("/profile/telegram/").content.decode()
    assert "https://t.me/breach_desk_bot?start=" in html
    assert LinkToken.objects.filter(user=users["engineer"]).count() == 1
