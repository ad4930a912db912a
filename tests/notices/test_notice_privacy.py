"""No personal data of the people affected in events, logs, errors kept with a notice, or the
alerts legal gets: a whole campaign, with refusals and retries, leaves none behind."""

from __future__ import annotations

import json
import logging

import pytest

from incidents.models import Event
from notifier.models import Delivery
from tests.notices.conftest import approved_campaign, send_notices
from tests.notices.servers import SmtpServer

pytestmark = pytest.mark.usefixtures("notice_settings")
PERSONAL = [
    "علی رضایی",
    "Sara Ahmadi",
    "مریم کاظمی",
    "ali@example.com",
    "sara@example.org",
    "989351112233",
    "9351112233",
    "C-1",
]


def test_a_campaign_leaves_no_personal_data_in_events_logs_or_errors(
    breach, users, legal2, notice_settings, sms_gateway, caplog
):
    sms_gateway.answer("500", "400")  # retried once, then refused
    with SmtpServer() as server:
        server.mailbox.refuse = {"ali@example.com"}  # the server echoes the address back
        server.mailbox.drop = 1
        notice_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        notice_settings.EMAIL_HOST, notice_settings.EMAIL_PORT = "127.0.0.1", server.port
        notice_settings.EMAIL_USE_TLS = False
        with caplog.at_level(logging.DEBUG):
            campaign = approved_campaign(breach, users["legal"], legal2)
            send_notices(until=lambda: campaign.notices.filter(status="sent").count() == 1)
            send_notices(
                until=lambda: not campaign.notices.filter(status__in=["queued", "failed"]).exists()
            )
    statuses = dict(campaign.notices.values_list("channel", "status").order_by("status"))
    assert set(campaign.notices.values_list("status", flat=True)) == {"sent", "dead"}, statuses
    # the events of the whole campaign (draft, approval, start, finish, obligation)
    events = json.dumps(list(Event.objects.values("kind", "data")), ensure_ascii=False)
    # the notices' own errors, which the admin shows
    errors = " ".join(campaign.notices.values_list("last_error", flat=True))
    assert "550" in errors and "gateway answered 400" in errors
    # our logs (the SMTP server's own log lines, which name its recipients, are the test's)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "notice" in ours  # the failures were logged, by id
    for value in PERSONAL:
        assert value not in events, value
        assert value not in errors, value
        assert value not in ours, value


def test_legal_hears_of_a_campaign_without_anyones_details(
    breach, users, legal2, linked, run_worker, fake_telegram, smtp, sms_gateway
):
    campaign = approved_campaign(breach, legal2, users["admin"])
    run_worker()
    to_legal = Delivery.objects.filter(chat_id=linked["legal"].chat_id)
    kinds = set(to_legal.values_list("kind", flat=True))
    assert {"campaign.drafted", "campaign.approve"} <= kinds  # a draft awaits a second person
    assert not Delivery.objects.filter(
        chat_id=linked["engineer"].chat_id, kind__startswith="campaign."
    ).exists()
    texts = " ".join(c.params["text"] for c in fake_telegram.sent(linked["legal"].chat_id))
    assert breach.reference in texts
    for value in PERSONAL:
        assert value not in texts
    assert campaign.pk
