"""Notices by SMS, through an HTTP gateway (issue 18), for people without an email.

The contract (docs/notifications.md, "The SMS gateway"): ``POST SMS_GATEWAY_URL`` with
``Authorization: Bearer SMS_GATEWAY_TOKEN`` and the JSON ``{"to": "+989121234567", "text":
"..."}``; any 2xx means the gateway took the message. 429 (with ``Retry-After`` when it says
when), 5xx, timeouts and network errors are temporary; 401, 403 and 408 too (a token or a
gateway an operator fixes); every other 4xx is permanent (the number or the text refused).

Without SMS_GATEWAY_URL, local development writes each SMS to VAR_DIR/sms/ (one file per worker
run) and says so once; production keeps SMS notices waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path

import httpx
from django.conf import settings

from notifier.transports.base import (
    NoticeTransport,
    OutgoingNotice,
    TransportError,
    without_address,
)

log = logging.getLogger(__name__)
# Refusals that say more about our set-up or the gateway's mood than about the message.
TEMPORARY_4XX = frozenset({401, 403, 408, 429})
ANSWER_CHARS = 300


class SmsGatewayTransport:
    channel = "sms"

    def __init__(self, url: str, token: str, *, timeout: float) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(timeout=timeout, headers=headers, follow_redirects=False)

    def send(self, notice: OutgoingNotice) -> None:
        try:
            response = self.client.post(self.url, json={"to": notice.to, "text": notice.text})
        except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
            raise TransportError(f"{type(exc).__name__}: gateway not reached") from None
        if response.is_success:
            return
        code = response.status_code
        answer = without_address(response.text[:ANSWER_CHARS], notice.to)
        message = f"gateway answered {code}: {answer}".strip()
        if code == 429:
            raise TransportError(message, retry_after=_retry_after(response))
        raise TransportError(message, permanent=400 <= code < 500 and code not in TEMPORARY_4XX)

    def close(self) -> None:
        return None  # httpx keeps its pool; nothing to let go between sends


class SmsFileTransport:
    """Local development only: each SMS appended to one file of VAR_DIR/sms/ per worker run."""

    channel = "sms"

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        self.path = self.directory / f"{stamp}-{os.getpid()}.log"
        self.lock = threading.Lock()
        log.warning(
            "SMS_GATEWAY_URL is not set: SMS notices are written to %s, not sent", directory
        )

    def send(self, notice: OutgoingNotice) -> None:
        entry = f"To: {notice.to}\nNotice: {notice.id}\n\n{notice.text}\n{'-' * 79}\n"
        with self.lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(entry)

    def close(self) -> None:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None  # absent, or an HTTP date: the worker's own backoff decides


def sms_transport() -> NoticeTransport | None:
    """The gateway, the development file, or None (not configured)."""
    if settings.SMS_GATEWAY_URL:
        return SmsGatewayTransport(
            settings.SMS_GATEWAY_URL,
            settings.SMS_GATEWAY_TOKEN,
            timeout=settings.SMS_TIMEOUT_SECONDS,
        )
    if settings.SMS_FILE_PATH:
        return SmsFileTransport(settings.SMS_FILE_PATH)
    return None
