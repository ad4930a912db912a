"""Notices by email, through Django's email framework (issue 18): ``EmailMultiAlternatives``
(the text part and the HTML part) over the connection ``get_connection()`` makes from the
settings (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS or
EMAIL_USE_SSL, EMAIL_TIMEOUT; DEFAULT_FROM_EMAIL). Without EMAIL_HOST, local development uses
Django's file backend into VAR_DIR/mail/ (core/settings.py), and this says so once.

SMTP's answers become TransportErrors: a recipient refused with a 5xx code, or a message
refused for good (5xx to DATA), is permanent; a 4xx code, a dropped or refused connection, a
timeout, and refusals of our sender or our login (the operator fixes those) are temporary.
One connection is kept open between sends and reopened after any failure.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifier.transports.base import OutgoingNotice, TransportError, without_address

log = logging.getLogger(__name__)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def email_configured() -> bool:
    """SMTP needs EMAIL_HOST; any other backend (the file one, a test's) works as it is."""
    return bool(settings.EMAIL_HOST) or settings.EMAIL_BACKEND != SMTP_BACKEND


class EmailTransport:
    channel = "email"

    def __init__(self, connection: Any = None, *, what: str = "notices") -> None:
        self.connection = connection or get_connection()
        if settings.EMAIL_BACKEND == FILE_BACKEND:
            log.warning(
                "EMAIL_HOST is not set: %s by email are written to %s, not sent",
                what,
                settings.EMAIL_FILE_PATH,
            )

    def send(self, notice: OutgoingNotice) -> None:
        message = EmailMultiAlternatives(
            subject=notice.subject,
            body=notice.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notice.to],
            connection=self.connection,
            headers={"Content-Language": notice.language, "Auto-Submitted": "auto-generated"},
        )
        if notice.html:  # an alert to staff is plain text only
            message.attach_alternative(notice.html, "text/html")
        try:
            # Opened here, not by send(): Django's backend closes a connection it opened itself
            # after each message, and one open connection serves a whole campaign.
            self.connection.open()
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            answer = without_address(_text(reply), notice.to)
            raise TransportError(
                f"recipient refused: {code} {answer}", permanent=code >= 500
            ) from None
        except smtplib.SMTPResponseException as exc:
            # smtplib resets the session after a refused sender or message; a refused login or
            # greeting leaves a half-open connection: start afresh either way.
            self.close()
            answer = without_address(_text(exc.smtp_error), notice.to)
            permanent = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
            raise TransportError(
                f"{type(exc).__name__}: {exc.smtp_code} {answer}", permanent=permanent
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TransportError(
                f"{type(exc).__name__}: {without_address(str(exc), notice.to)}"
            ) from None

    def close(self) -> None:
        try:
            self.connection.close()
        except (smtplib.SMTPException, OSError):
            log.debug("closing the SMTP connection failed", exc_info=True)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
