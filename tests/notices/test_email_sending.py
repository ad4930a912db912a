"""Notices by email over real SMTP (aiosmtpd on loopback): what arrives, and what the worker
does when the server refuses a recipient or drops the connection."""

from __future__ import annotations

from incidents.models import Notice
from tests.notices.conftest import approved_campaign, send_notices
from tests.notices.servers import SmtpServer


def statuses(campaign) -> dict[int, str]:
    return dict(campaign.notices.values_list("person_id", "status"))


def test_each_person_gets_the_letter_in_their_language(breach, users, legal2, smtp, sms_gateway):
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices()
    persian, english = smtp.mailbox.to("ali@example.com"), smtp.mailbox.to("sara@example.org")
    assert len(persian) == 1 and len(english) == 1
    fa, en = persian[0], english[0]
    # (a long encoded subject is folded onto its own line: the parser keeps the fold's space)
    assert fa["Subject"].strip() == "اطلاعیهٔ مهم فروشگاه نمونه: رویداد امنیتی و اطلاعات شما"
    assert en["Subject"].strip() == (
        "Important: a security incident at Example Shop involving your information"
    )
    assert fa["From"] == en["From"] == "notices@shop.example"
    assert fa["Content-Language"] == "fa" and en["Content-Language"] == "en"
    fa_text = fa.get_body(("plain",)).get_content()
    en_text = en.get_body(("plain",)).get_content()
    assert fa_text.startswith("علی رضایی گرامی،")
    assert en_text.startswith("Dear Sara Ahmadi,")
    # the leaked categories in the reader's words, and the advice chosen by them
    assert "حساب بانکی" in fa_text and "رمز دوم (رمز پویا)" in fa_text
    assert "Bank account" in en_text and "we have reset the password" in en_text
    assert "postal" not in en_text.lower()  # no advice for what did not leak
    url = f"https://desk.example.com/notice/{breach.reference.lower()}-"
    assert url in fa_text and url in en_text
    html = en.get_body(("html",)).get_content()
    assert 'lang="en"' in html and "Dear Sara Ahmadi," in html and f'href="{url}' in html
    assert 'dir="rtl"' in fa.get_body(("html",)).get_content()
    # the person with a mobile only got an SMS instead
    assert [c.to for c in sms_gateway.delivered()] == ["+989351112233"]
    assert set(statuses(campaign).values()) == {Notice.SENT}


def test_a_refused_recipient_is_dead_at_once_and_the_others_go(
    breach, users, legal2, notice_settings, sms_gateway
):
    with SmtpServer() as server:
        server.mailbox.refuse = {"ali@example.com"}
        notice_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        notice_settings.EMAIL_HOST, notice_settings.EMAIL_PORT = "127.0.0.1", server.port
        notice_settings.EMAIL_USE_TLS = False
        campaign = approved_campaign(breach, users["legal"], legal2)
        send_notices()
        refused = campaign.notices.get(channel="email", status=Notice.DEAD)
        assert refused.attempts == 1  # permanent: never retried
        assert "550" in refused.last_error and "ali@example.com" not in refused.last_error
        assert server.mailbox.data_attempts == 1  # only Sara's letter reached DATA
        assert server.mailbox.to("sara@example.org")


def test_a_dropped_connection_is_retried_with_backoff_then_sent(
    breach, users, legal2, notice_settings, sms_gateway
):
    with SmtpServer() as server:
        server.mailbox.drop = 1
        notice_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        notice_settings.EMAIL_HOST, notice_settings.EMAIL_PORT = "127.0.0.1", server.port
        notice_settings.EMAIL_USE_TLS = False
        campaign = approved_campaign(breach, users["legal"], legal2)
        send_notices()
        failed = campaign.notices.get(status=Notice.FAILED)
        assert failed.attempts == 1 and "SMTPServerDisconnected" in failed.last_error
        assert failed.next_attempt_at > failed.attempted_at  # backing off, not hammering
        send_notices(until=lambda: not campaign.notices.exclude(status=Notice.SENT).exists())
        retried = Notice.objects.get(pk=failed.pk)
        assert retried.status == Notice.SENT and retried.attempts == 2
        assert server.mailbox.count() == 2 and server.mailbox.data_attempts == 3
