"""Telegram is a third party: no customer's personal data ever leaves in a message."""

from __future__ import annotations

import pytest

from incidents.lifecycle import create_incident
from notifier.messages import MAX_TEXT, scrub
from tests.notifier.helpers import alert
from tests.notifier.test_scrubber import assert_no_personal_data

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


def test_alert_never_contains_personal_data_from_title_or_summary(
    users, linked, run_worker, fake_telegram
):
    everything = " ".join(PII.values())
    create_incident(
        actor=users["admin"],
        data={
            "title": f"Dump: {PII['email']} {PII['mobile']} {PII['iban']} {PII['card']}",
            "summary": f"Customers affected: {everything}",
            "severity": "critical",
        },
    )
    run_worker()
    sent = fake_telegram.sent()
    assert sent
    for call in sent:
        assert_clean(call.params["text"])
        assert "Customers affected" not in call.params["text"]


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
