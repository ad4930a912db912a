"""Telegram is a third party: no customer's personal data ever leaves in a message."""

from __future__ import annotations

import re

import pytest

from core.models import Profile
from incidents.lifecycle import apply_transition, create_incident
from notifier.messages import MAX_TEXT, scrub
from tests.notifier.helpers import alert
from tests.notifier.test_scrubber import assert_no_personal_data, read_as_a_person

# The spellings the audit got through to a chat (tests/notifier/test_scrubber.py has them all,
# and generated ones): separators, zero-width characters and Persian digits inside.
PII = {
    "email": "ali\u200b.rezaei+x@example.co.ir",
    "mobile": "0912 345 67 89",
    "mobile_dots": "0912.345.6789",
    "mobile_intl": "+98 912 345 6789",
    "national_id": "001.234567.8",
    "iban": "IR82.0540.1026.8002.0817.9090.02",
    "card": "6037\u200b9912\u200b3456\u200b7890",
    "card_spaced": "6037  9912  3456  7890",
    "persian_digits_mobile": "۰۹۱۲\u200c۱۲۳\u200c۴۵۶۷",
}


def assert_clean(text: str) -> None:
    assert_no_personal_data(text)


@pytest.mark.parametrize("kind", sorted(PII))
def test_scrub_removes_each_kind_of_personal_data(kind):
    cleaned = scrub(f"Leak of {PII[kind]} found")
    assert_clean(cleaned)
    assert "Leak of" in cleaned and "found" in cleaned


def test_scrub_keeps_incident_references_and_ordinary_numbers():
    assert scrub("INC-2026-0007 affects 120 rows on 3 servers") == (
        "INC-2026-0007 affects 120 rows on 3 servers"
    )


# Spellings people paste into a title, each alone in one, through the whole path: an incident
# created through the domain, its alerts written to the outbox, sent by the worker to chats in
# English and Persian. (tests/notifier/test_scrubber.py generates many more for the scrubber.)
TITLE_SPELLINGS = {
    "mobile_spaced": "0912 345 67 89",
    "mobile_dots": "0912.345.6789",
    "mobile_zero_width_space": "0912\u200b3456789",
    "mobile_persian_digits": "۰۹۱۲۳۴۵۶۷۸۹",
    "mobile_international": "+98 912 345 6789",
    "national_id_dots": "001.234567.8",
    "iban_spaced": "IR06 2960 0000 0010 0324 2000 01",
    "iban_dots": "IR06.2960.0000.0010.0324.2000.01",
    "card_dots": "6037.9975.1234.5678",
    "card_double_spaces": "6037  9975  1234  5678",
    "email_zero_width_space": "ali\u200b.rezaei+x@example.co.ir",
    # notifier/privacy.py reads the text as NFKC: a full-width at sign is an at sign.
    "email_full_width": "a．b＠example.com",
}


@pytest.mark.parametrize("spelling", TITLE_SPELLINGS.values(), ids=TITLE_SPELLINGS.keys())
def test_no_spelling_in_a_title_reaches_an_alert(
    users, linked, run_worker, fake_telegram, tg_settings, spelling
):
    tg_settings.TELEGRAM_INCLUDE_TITLE = True
    profile = Profile.for_user(users["executive"])
    profile.language = "fa"
    profile.save()
    incident, _ = create_incident(
        actor=users["engineer"],
        data={"title": f"Dump of {spelling} on web-1", "severity": "critical"},
    )
    apply_transition(incident, "start_scoping", actor=users["engineer"], payload={})
    run_worker()
    sent = fake_telegram.sent()
    assert {call.params["chat_id"] for call in sent} >= {1003, 1006}  # Persian and English
    assert len(sent) >= 3  # the creation's alerts and the transition's
    secret = re.sub(r"\D", "", read_as_a_person(spelling))
    for call in sent:
        text = call.params["text"]
        assert "Dump of" in text and "on web-1" in text  # the title is there ...
        assert_no_personal_data(text, secret)  # ... without the personal data in it


def test_summary_never_reaches_a_chat(users, linked, run_worker, fake_telegram):
    create_incident(
        actor=users["admin"],
        data={
            "title": "Customer dump",
            "summary": "Customers affected: " + " ".join(PII.values()),
            "severity": "critical",
        },
    )
    run_worker()
    sent = fake_telegram.sent()
    assert sent
    for call in sent:
        assert "Customers affected" not in call.params["text"]
        assert_clean(call.params["text"])


def test_alert_text_is_html_escaped_and_bounded(settings):
    settings.TELEGRAM_INCLUDE_TITLE = True
    text = alert(title="<script>x</script>" * 500, actor="<b>eve</b>")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "&lt;b&gt;eve&lt;/b&gt;" in text
    assert len(text) <= MAX_TEXT


def test_title_left_out_when_setting_is_off(settings):
    settings.TELEGRAM_INCLUDE_TITLE = False
    text = alert(title="Secret title", actor="eve")
    assert "Secret title" not in text and "INC-2026-0001" in text


def test_notes_never_become_telegram_alerts(users, linked, incident_in, run_worker, fake_telegram):
    """A note is where responders write what they found, personal data included: no one is
    alerted about it, not the commander, not followers, not executives."""
    from incidents.notes import add_note
    from notifier.models import Subscription

    incident = incident_in("scoping", severity="critical")
    for role in linked:
        Subscription.objects.get_or_create(user=users[role], incident=incident)
    run_worker()
    fake_telegram.calls.clear()
    add_note(incident, actor=users["engineer"], text=f"Customer {PII['mobile']} {PII['email']}")
    run_worker()
    assert fake_telegram.sent() == []
