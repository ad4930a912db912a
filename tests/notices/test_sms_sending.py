"""Notices by SMS through the HTTP gateway (a fake one on loopback) for people without an email:
the contract, and what the worker does with each of the gateway's answers."""

from __future__ import annotations

import datetime as dt

import pytest

from incidents.models import Notice
from tests.notices.conftest import approved_campaign, send_notices
from tests.notices.servers import GATEWAY_TOKEN

pytestmark = pytest.mark.usefixtures("smtp")


def sms_notice(campaign) -> Notice:
    return campaign.notices.get(channel="sms")


def test_people_without_email_get_the_sms_in_their_language(breach, users, legal2, sms_gateway):
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    (call,) = sms_gateway.delivered()
    assert call.to == "+989351112233" and call.authorization == f"Bearer {GATEWAY_TOKEN}"
    assert call.text.startswith("فروشگاه نمونه: یک رویداد امنیتی")
    assert f"https://desk.example.com/notice/{breach.reference.lower()}-" in call.text
    notice = sms_notice(campaign)
    assert notice.status == Notice.SENT and notice.attempts == 1 and len(notice.digest) == 64
    # the people with an email got no SMS, though they have a mobile
    assert campaign.notices.filter(channel="email").count() == 2


def test_429_waits_what_the_gateway_asks_then_sends(breach, users, legal2, sms_gateway):
    sms_gateway.answer(("429", 1))
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    notice = sms_notice(campaign)
    assert notice.status == Notice.FAILED and "429" in notice.last_error
    assert notice.next_attempt_at - notice.attempted_at >= dt.timedelta(seconds=1)
    send_notices(until=lambda: sms_notice(campaign).status == Notice.SENT)
    statuses = [c.status for c in sms_gateway.calls]
    assert statuses == [429, 200]
    assert sms_gateway.calls[1].at - sms_gateway.calls[0].at >= 0.95


def test_a_server_error_is_retried_with_backoff(breach, users, legal2, sms_gateway):
    sms_gateway.answer("500", "503")
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices(until=lambda: sms_notice(campaign).status == Notice.SENT)
    notice = sms_notice(campaign)
    assert [c.status for c in sms_gateway.calls] == [500, 503, 200]
    assert notice.attempts == 3 and notice.last_error == ""


def test_a_refused_message_is_dead_at_once(breach, users, legal2, sms_gateway):
    sms_gateway.answer("400")
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    notice = sms_notice(campaign)
    assert notice.status == Notice.DEAD and notice.attempts == 1
    assert notice.last_error.startswith("gateway answered 400")
    assert len(sms_gateway.calls) == 1


def test_a_gateway_that_keeps_failing_makes_the_notice_dead_after_the_last_attempt(
    breach, users, legal2, sms_gateway, notice_settings
):
    notice_settings.NOTICE_MAX_ATTEMPTS = 3
    sms_gateway.answer("500", "500", "500", "500")
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices(until=lambda: sms_notice(campaign).status == Notice.DEAD)
    assert sms_notice(campaign).attempts == 3 and len(sms_gateway.calls) == 3


def test_an_unreachable_gateway_is_temporary(breach, users, legal2, notice_settings):
    notice_settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/send"  # discard: nothing listens
    notice_settings.SMS_GATEWAY_TOKEN = GATEWAY_TOKEN
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    notice = sms_notice(campaign)
    assert notice.status == Notice.FAILED and "gateway not reached" in notice.last_error
