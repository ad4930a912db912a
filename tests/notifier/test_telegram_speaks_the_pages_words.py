"""Telegram says things in the pages' words, from the same catalogue (STYLE.md rule 18): state,
severity, event and transition names in the recipient's language, never machine values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polib
import pytest

from core.models import Profile
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.models import Incident
from notifier.messages import alert_buttons
from notifier.models import Delivery, Subscription
from notifier.outbox import derive_deliveries
from tests.frontend.helpers import browser
from tests.notifier.helpers import alert
from tests.notifier.test_telegram_actions import press, send

TITLE = "Admin panel reachable without a password"


def speaks(user: Any, language: str) -> None:
    profile = Profile.for_user(user)
    profile.language = language
    profile.save()


def page(user: Any, incident: Incident, language: str) -> str:
    client = browser(user, HTTP_ACCEPT_LANGUAGE=language)
    return client.get(f"/incidents/{incident.reference}/").content.decode()


def test_persian_alert_names_state_and_severity_and_offers_the_pages_button(
    users, linked, run_worker, fake_telegram
):
    speaks(users["engineer2"], "fa")
    incident, _ = create_incident(actor=users["admin"], data={"title": "t", "severity": "critical"})
    run_worker()
    [alert] = fake_telegram.sent(1006)
    text = alert.params["text"]
    assert "<b>رخداد تازه</b>" in text  # the timeline's words for "created"
    assert "شدت: بحرانی" in text and "وضعیت: شناسایی‌شده" in text
    assert "critical" not in text.lower() and "detected" not in text.lower()
    acknowledge_and_open, [step] = alert.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in acknowledge_and_open] == ["تأیید دریافت", "باز کردن"]
    assert step == {
        "text": "شروع تعیین دامنه",
        "callback_data": f"run:start_scoping:{incident.reference}",
    }
    # the very button the incident page offers the same engineer
    assert ">شروع تعیین دامنه<" in page(users["engineer2"], incident, "fa")


@pytest.mark.parametrize(
    ("language", "headline", "states"),
    [
        ("fa", "تعیین دامنه شروع شد", "شناسایی‌شده → تعیین دامنه"),
        ("en", "Scoping started", "Detected → Scoping"),
    ],
)
def test_transition_alert_headline_is_the_timeline_entry(
    users, linked, incident_in, run_worker, fake_telegram, language, headline, states
):
    speaks(users["engineer2"], language)
    incident = incident_in("detected")
    Subscription.objects.create(user=users["engineer2"], incident=incident)
    derive_deliveries()
    Delivery.objects.all().delete()
    apply_transition(incident, "start_scoping", actor=users["admin"])
    run_worker()
    [alert] = fake_telegram.sent(1006)
    assert f"<b>{headline}</b>" in alert.params["text"]
    assert states in alert.params["text"]
    timeline = page(users["engineer2"], incident, language)
    assert f"<strong>{headline}</strong>" in timeline


def test_severity_change_alert_names_both_severities(
    users, linked, incident_in, run_worker, fake_telegram
):
    speaks(users["engineer"], "fa")
    incident = incident_in("scoping")  # engineer is commander; severity high
    run_worker()
    fake_telegram.calls.clear()
    update_incident(incident, actor=users["admin"], changes={"severity": "critical"})
    run_worker()
    assert "Severity: High → Critical" in fake_telegram.sent(1003)[0].params["text"]
    persian = fake_telegram.sent(1001)[0].params["text"]
    assert "<b>شدت تغییر کرد</b>" in persian and "شدت: زیاد → بحرانی" in persian


def test_step_button_answer_is_the_timeline_entry_in_persian(
    users, linked, incident_in, tg_settings
):
    speaks(users["engineer2"], "fa")
    incident = incident_in("detected")
    answer = press(f"run:start_scoping:{incident.reference}", 1006)
    assert answer["text"] == f"تعیین دامنه شروع شد · {incident.reference}"
    assert "<strong>تعیین دامنه شروع شد</strong>" in page(users["engineer2"], incident, "fa")


@pytest.mark.parametrize(
    ("language", "word", "severity"),
    [
        ("en", "critical", "critical"),  # the value
        ("en", "Medium", "medium"),  # the English name
        ("en", "بحرانی", "critical"),  # the Persian name, typed by an English reader
        ("fa", "HIGH", "high"),
        ("fa", "کم", "low"),
        ("fa", "متوسط", "medium"),
    ],
)
def test_new_takes_a_severity_by_value_or_by_name_in_either_language(
    users, linked, tg_settings, language, word, severity
):
    speaks(users["engineer"], language)
    send(f"/new {word} {TITLE}", 1001)
    assert Incident.objects.get().severity == severity


COMMANDS_AND_REFERENCES = re.compile(r"/\w+|INC-\d{4}-\d{4}|https?://\S+")


def replies(incident: Incident, title: str) -> list[dict[str, Any]]:
    """One of each kind of message and button answer the bot gives a linked engineer."""
    ref = incident.reference
    texts = [
        "hello",
        "/new",
        f"/new high {'x' * 201}",
        f"/new high {title}",
        "/open",
        f"/status {ref}",
        "/status INC-1999-0001",
        f"/follow {ref}",
        f"/unfollow {ref}",
        f"/ack {ref}",
    ]
    answers = [send(text, 1001) for text in texts]
    answers.append(send("/open", 1001, chat_type="group"))
    answers += [press(f"run:start_scoping:{ref}", 1001), press("ack:INC-1999-0001", 1001)]
    answers += [press("nonsense", 1001), send("/unlink", 1001)]
    return answers


def test_every_persian_reply_is_persian(users, linked, incident_in, tg_settings):
    speaks(users["engineer"], "fa")
    title = "پنل مدیریت بدون گذرواژه در دسترس است"
    for reply in replies(incident_in("detected", title=title), title):
        words = COMMANDS_AND_REFERENCES.sub("", re.sub(r"<[^>]+>|&\w+;", "", reply["text"]))
        assert re.search(r"[\u0600-\u06ff]", words), reply
        assert not re.search(r"[A-Za-z]{2,}", words), reply
        for row in (reply.get("reply_markup") or {}).get("inline_keyboard", []):
            assert all(not re.search("[A-Za-z]", button["text"]) for button in row), reply


def test_every_english_reply_is_english(users, linked, incident_in, tg_settings):
    speaks(users["engineer"], "en")
    for reply in replies(incident_in("detected"), TITLE):
        assert not re.search(r"[\u0600-\u06ff]", reply["text"]), reply
        assert re.search(r"[A-Za-z]{3,}", COMMANDS_AND_REFERENCES.sub("", reply["text"])), reply


def test_telegram_words_are_the_catalogues(users, linked, tg_settings, tmp_path: Path):
    """Change the Persian catalogue and Telegram says the new words: no copy of them in code."""
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "fa"}
    for msgid, msgstr in [
        ("Scoping started", "آغاز تعیین دامنه (آزمون)"),
        ("Start restoration", "دکمهٔ بازیابی (آزمون)"),
        ("Severity", "شدت (آزمون)"),
        ("Critical", "بحرانی (آزمون)"),
        ("No such incident.", "چنین رخدادی نیست (آزمون)"),
    ]:
        po.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    (tmp_path / "fa/LC_MESSAGES").mkdir(parents=True)
    po.save_as_mofile(str(tmp_path / "fa/LC_MESSAGES/django.mo"))
    tg_settings.LOCALE_PATHS = [tmp_path, *tg_settings.LOCALE_PATHS]  # Django drops its caches
    text = alert(language="fa", kind="start_scoping", severity="critical", state="scoping")
    assert "<b>آغاز تعیین دامنه (آزمون)</b>" in text and "شدت (آزمون): بحرانی (آزمون)" in text
    assert "وضعیت: تعیین دامنه" in text  # the rest still from the real catalogue
    buttons = alert_buttons(
        language="fa",
        reference="INC-2026-0001",
        acknowledge=False,
        transitions=["start_restoration"],
    )
    assert buttons["inline_keyboard"][-1][0]["text"] == "دکمهٔ بازیابی (آزمون)"
    speaks(users["engineer"], "fa")
    assert send("/status INC-1999-0001", 1001)["text"] == "چنین رخدادی نیست (آزمون)"
