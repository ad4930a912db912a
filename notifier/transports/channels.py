"""The channels this deployment sends notices (and the public check's codes) on: email and SMS
when configured (issue 18)."""

from __future__ import annotations

import logging

from notifier.transports.base import NoticeTransport
from notifier.transports.email import EmailTransport, email_configured
from notifier.transports.sms import sms_transport

log = logging.getLogger(__name__)


def notice_transports() -> dict[str, NoticeTransport]:
    """The channels this deployment can send notices on. A channel not configured (production
    without EMAIL_HOST or SMS_GATEWAY_URL) is left out, and said so: its notices wait, queued,
    until it is."""
    transports: dict[str, NoticeTransport] = {}
    if email_configured():
        transports["email"] = EmailTransport()
    else:
        log.warning("EMAIL_HOST is not set: email notices wait, queued, until it is")
    sms = sms_transport()
    if sms is not None:
        transports["sms"] = sms
    else:
        log.warning("SMS_GATEWAY_URL is not set: SMS notices wait, queued, until it is")
    return transports
