"""One interface for the transports that carry notices to the people affected (issue 18): email
(``email.py``) and SMS (``sms.py``), like healthchecks' transports (STYLE.md rule 9).

A transport's ``send`` either returns (the message left us) or raises ``TransportError(message,
permanent=...)``; the worker decides retry, backoff or dead letter from that. Transports are
synchronous: each channel's runs on a thread of its own (notifier/notice_sending.py), so a slow
mail server never holds up the Telegram alerts. An error's message never holds the address:
it is stored with the notice and logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from notifier.transports.errors import TransportError

__all__ = ["NoticeTransport", "OutgoingNotice", "TransportError"]


@dataclass(frozen=True)
class OutgoingNotice:
    """A claimed notice, built and ready to go, detached from the ORM so a sending thread can
    hold it. For an SMS, ``text`` is the SMS and ``subject`` and ``html`` are empty. The
    address and the letter never appear in a repr (logs, tracebacks)."""

    id: int
    channel: str
    claim_token: str
    attempts: int
    language: str
    digest: str
    to: str = field(repr=False)
    subject: str = field(repr=False)
    text: str = field(repr=False)
    html: str = field(repr=False)


class NoticeTransport(Protocol):
    channel: str

    def send(self, notice: OutgoingNotice) -> None:
        """Send one notice, or raise TransportError."""

    def close(self) -> None:
        """Let go of any connection (the channel is idle, or the worker stops)."""


def without_address(message: str, address: str) -> str:
    """``message`` (a server's answer) with the recipient's address taken out, whatever its
    case: servers echo it ("<a@b.example>: Recipient address rejected")."""
    if not address:
        return message
    lowered, needle = message.lower(), address.lower()
    parts, start = [], 0
    while (found := lowered.find(needle, start)) >= 0:
        parts.append(message[start:found] + "<recipient>")
        start = found + len(address)
    return "".join(parts) + message[start:]
