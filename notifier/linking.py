"""Linking a bot chat (Telegram, Bale) to an account: single-use tokens per channel, no
guessing, no hijacking. A token issued for one channel links a chat of that channel only."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifier.models import TELEGRAM, ChatLink, Delivery, LinkAudit, LinkToken

TOKEN_TTL = dt.timedelta(minutes=10)


class LinkRefused(Exception):
    """Why a /start was refused; ``reason`` keys the reply text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link_token(user: Any, channel: str = TELEGRAM) -> tuple[str, LinkToken]:
    """A fresh single-use token for one channel; only its digest is stored. Older unused
    tokens stay valid until they expire (two open browser tabs must not invalidate each
    other)."""
    token = secrets.token_urlsafe(24)  # 32 chars of [A-Za-z0-9_-]: what /start accepts
    row = LinkToken.objects.create(
        digest=digest(token), channel=channel, user=user, expires_at=timezone.now() + TOKEN_TTL
    )
    return token, row


def link_chat(
    token: str, *, account_id: int, chat_id: int, username: str = "", channel: str = TELEGRAM
) -> Any:
    """Consume the token and link this private chat of ``channel`` to its user; returns the
    user. A token issued for another channel is unknown here: telling it apart would confirm
    to a stranger that the code exists."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            LinkToken.objects.select_related("user")
            .filter(digest=digest(token), channel=channel)
            .first()
        )
        if row is None:
            raise LinkRefused("unknown")
        if row.used_at is not None:
            raise LinkRefused("used")
        if row.expires_at <= now:
            raise LinkRefused("expired")
        other = ChatLink.objects.on(channel).filter(account_id=account_id).first()
        if other is not None and other.user_id != row.user_id:
            raise LinkRefused("taken")
        # Consumed by whoever marks it used first: a second /start racing this one (two taps,
        # two chats) finds it used and links nothing.
        if not LinkToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
            raise LinkRefused("used")
        ChatLink.objects.update_or_create(
            channel=channel,
            user=row.user,
            defaults={
                "account_id": account_id,
                "chat_id": chat_id,
                "username": username[:64],
                "active": True,
                "linked_at": now,
                "deactivated_reason": "",
            },
        )
        LinkAudit.objects.create(
            user=row.user,
            channel=channel,
            action="linked",
            account_id=account_id,
            chat_id=chat_id,
        )
    return row.user


def unlink(link: ChatLink, detail: str) -> None:
    """Remove the link; alerts already queued for that chat are not sent after all."""
    with transaction.atomic():
        LinkAudit.objects.create(
            user=link.user,
            channel=link.channel,
            action="unlinked",
            detail=detail[:200],
            account_id=link.account_id,
            chat_id=link.chat_id,
        )
        Delivery.objects.unsent().filter(channel=link.channel, chat_id=link.chat_id).update(
            status=Delivery.DEAD, last_error="chat unlinked"
        )
        link.delete()


def deactivate_chat(channel: str, chat_id: int, reason: str) -> None:
    """The channel said this chat is gone for good (blocked the bot, deleted): stop sending
    there, on that channel only (a Telegram and a Bale chat may share an id). Its other pending
    deliveries die now rather than each failing once more. Call inside ``atomic()``."""
    for link in ChatLink.objects.on(channel).filter(chat_id=chat_id, active=True):
        link.active = False
        link.deactivated_reason = reason[:200]
        link.save(update_fields=["active", "deactivated_reason"])
        LinkAudit.objects.create(
            user=link.user,
            channel=channel,
            action="deactivated",
            account_id=link.account_id,
            chat_id=chat_id,
            detail=reason[:200],
        )
    Delivery.objects.unsent().filter(channel=channel, chat_id=chat_id).update(
        status=Delivery.DEAD, last_error=f"chat deactivated: {reason}"[:2000]
    )
