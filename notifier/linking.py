"""Linking a Telegram chat to an account: single-use tokens, no guessing, no hijacking."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
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


def issue_link_token(user: Any) -> tuple[str, LinkToken]:
    """A fresh single-use token; only its digest is stored. Older unused tokens stay valid
    until they expire (two open browser tabs must not invalidate each other)."""
    token = secrets.token_urlsafe(24)  # 32 chars of [A-Za-z0-9_-]: what /start accepts
    row = LinkToken.objects.create(
        digest=digest(token), user=user, expires_at=timezone.now() + TOKEN_TTL
    )
    return token, row


def deep_link(token: str) -> str | None:
    name = settings.TELEGRAM_BOT_USERNAME
    return f"https://t.me/{name}?start={token}" if name else None


def link_chat(token: str, *, account_id: int, chat_id: int, username: str = "") -> Any:
    """Consume the token and link this private chat to its user; returns the user."""
    now = timezone.now()
    with transaction.atomic():
        row = LinkToken.objects.select_related("user").filter(digest=digest(token)).first()
        if row is None:
            raise LinkRefused("unknown")
        if row.used_at is not None:
            raise LinkRefused("used")
        if row.expires_at <= now:
            raise LinkRefused("expired")
        other = ChatLink.objects.on(TELEGRAM).filter(account_id=account_id).first()
        if other is not None and other.user_id != row.user_id:
            raise LinkRefused("taken")
        # Consumed by whoever marks it used first: a second /start racing this one (two taps,
        # two chats) finds it used and links nothing.
        if not LinkToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
            raise LinkRefused("used")
        ChatLink.objects.update_or_create(
            channel=TELEGRAM,
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
            user=row.user, action="linked", account_id=account_id, chat_id=chat_id
        )
    return row.user


def unlink(link: ChatLink, detail: str) -> None:
    """Remove the link; alerts already queued for that chat are not sent after all."""
    with transaction.atomic():
        LinkAudit.objects.create(
            user=link.user,
            action="unlinked",
            detail=detail[:200],
            account_id=link.account_id,
            chat_id=link.chat_id,
        )
        Delivery.objects.unsent().filter(chat_id=link.chat_id).update(
            status=Delivery.DEAD, last_error="chat unlinked"
        )
        link.delete()
