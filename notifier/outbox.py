"""The outbox: turn events into deliveries on every channel (the rows themselves:
``notifier.event_rows``), claim due ones per channel, record what each channel answered.

All synchronous ORM code; the worker calls it between its async sends (STYLE.md rules 5, 10).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from incidents.models import Event, Incident, LogHead
from notifier.event_rows import rows_for, unbuildable
from notifier.linking import deactivate_chat
from notifier.models import BOT_CHANNELS, TELEGRAM, Cursor, Delivery
from notifier.recipients import (
    Context,
    Reach,
    Route,
    context_for,
    personal_routes,
    reach,
)
from notifier.webhooks import active_webhooks, webhook_deliveries

log = logging.getLogger(__name__)
CURSOR = "events"
DERIVE_BATCH = 200


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs, detached from the ORM so it can cross into a sending thread or the
    event loop: a chat's id (bot channels), the user (email, the address read at send time) or
    the webhook (webhooks); the text never appears in a repr."""

    id: int
    channel: str
    claim_token: str
    attempts: int
    chat_id: int | None
    user_id: int | None
    webhook_id: int | None
    subject: str = field(repr=False)
    text: str = field(repr=False)
    reply_markup: dict[str, Any] | None = field(repr=False)


def derive_deliveries(limit: int = DERIVE_BATCH) -> int:
    """Create deliveries for events after the cursor and advance it, in one transaction."""
    if Cursor.objects.filter(name=CURSOR, seq__gte=LogHead.objects.latest_seq()).exists():
        return 0
    with transaction.atomic():
        cursor, _ = Cursor.objects.select_for_update().get_or_create(name=CURSOR)
        events = list(Event.objects.after(cursor.seq).select_related("incident", "actor")[:limit])
        if not events:
            return 0
        found, context, hooks = reach(), context_for(events), active_webhooks()
        now = timezone.now()
        rows = [row for event in events for row in _routed(event, found, context, hooks, now)]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        cursor.seq = events[-1].seq
        cursor.save(update_fields=["seq"])
    return len(rows)


def _routed(
    event: Event, found: Reach, context: Context, hooks: list[Any], now: dt.datetime
) -> list[Delivery]:
    try:
        rows = rows_for(event, found, context, now)
    except DatabaseError:
        raise  # the transaction is broken; the worker reconnects and derives again
    except Exception:
        # An event nobody can route must not hold the cursor, and every later alert, forever.
        log.exception("event %s: recipients could not be worked out; no alert for it", event.seq)
        rows = []
    if hooks:
        try:
            rows += webhook_deliveries(event, hooks)
        except DatabaseError:
            raise
        except Exception:
            log.exception("event %s: webhook deliveries could not be built", event.seq)
    return rows


def enqueue(
    *,
    kind: str,
    key: str,
    route: Route,
    subject: str = "",
    text: str = "",
    reply_markup: dict[str, Any] | None = None,
    incident: Incident | None = None,
    error: Exception | None = None,
    not_before: dt.datetime | None = None,
) -> Delivery | None:
    """Add a delivery that no event produced (a legal-deadline reminder) on one route, sent
    from ``not_before`` (the end of the person's quiet hours) or at once. Idempotent by
    ``key``: enqueueing the same reminder twice sends it once. Returns None if it already
    existed.

    With ``error``, the message could not be built: the delivery is recorded under its usual key
    dead at once (see ``unbuildable``), so later scans do not try it again."""
    row = Delivery(
        channel=route.channel,
        kind=kind,
        incident=incident,
        user=route.user,
        chat_id=route.chat_id,
        subject=subject,
        text=text,
        reply_markup=reply_markup,
        next_attempt_at=not_before or timezone.now(),
    )
    if error is not None:
        unbuildable(row, error)
    fields = (
        "channel",
        "kind",
        "incident",
        "user",
        "chat_id",
        "subject",
        "text",
        "reply_markup",
        "status",
        "last_error",
        "next_attempt_at",
    )
    delivery, created = Delivery.objects.get_or_create(
        key=key, defaults={name: getattr(row, name) for name in fields}
    )
    return delivery if created else None


def personal_key(key: str, channel: str) -> str:
    """A reminder's key on a channel: Telegram's as before channels existed, others suffixed."""
    return key if channel == TELEGRAM else f"{key}:{channel}"


def enqueue_personal(
    user: Any,
    *,
    kind: str,
    key: str,
    build: Callable[[str, str], tuple[str, str, dict[str, Any] | None]],
    incident: Incident | None = None,
) -> int:
    """A message to one person that no event routes (a shift taken from them), on every channel
    they have and left on (``recipients.personal_routes``): each active chat link, and their
    account email when email alerts are on; in quiet hours it waits for their end.
    ``build(language, channel)`` returns ``(subject, text, reply_markup)``: HTML for a chat, plain
    text for email. Idempotent by ``key`` per channel (``f"{key}:{channel}"``); returns how many
    rows were added."""
    found = reach(users=[user])
    language = found.language(user)
    added = 0
    for route, not_before in personal_routes(user, found):
        message: dict[str, Any] = {}
        try:
            message["subject"], message["text"], message["reply_markup"] = build(
                language, route.channel
            )
        except DatabaseError:
            raise
        except Exception as exc:
            log.exception("personal message %s could not be built; dead-lettered", key)
            message = {"error": exc}
        row = enqueue(
            kind=kind,
            key=f"{key}:{route.channel}",
            route=route,
            incident=incident,
            not_before=not_before,
            **message,
        )
        added += row is not None
    return added


def claim_due(
    limit: int,
    *,
    busy_chats: set[int],
    lease_seconds: float,
    channel: str = TELEGRAM,
) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries on ``channel``, at most one per chat and none for
    ``busy_chats`` (chats this worker is still sending to on that channel), so another worker
    never sends the same row. Rows without a chat (email, webhooks) are claimed as they come."""
    now = timezone.now()
    candidates = (
        Delivery.objects.due(now)
        .filter(channel=channel)
        .exclude(chat_id__in=busy_chats)
        .order_by("next_attempt_at", "id")
        .values_list("id", "chat_id")[: limit * 4]
    )
    picked: dict[Any, int] = {}
    for pk, chat_id in candidates:
        slot = chat_id if chat_id is not None else ("row", pk)
        if slot not in picked:
            picked[slot] = pk
            if len(picked) >= limit:
                break
    if not picked:
        return []
    token = uuid.uuid4().hex
    until = now + dt.timedelta(seconds=lease_seconds)
    with transaction.atomic():
        rows = Delivery.objects.due(now).filter(id__in=picked.values())
        if connection.vendor == "postgresql":
            ids = list(rows.select_for_update(skip_locked=True).values_list("id", flat=True))
            rows = Delivery.objects.filter(id__in=ids)
        # Elsewhere the WHERE of this UPDATE re-checks "due", so only one claimer wins a row.
        rows.update(claim_token=token, claimed_until=until)
    claimed = Delivery.objects.filter(claim_token=token).order_by("next_attempt_at", "id")
    return [_outgoing(d) for d in claimed]


def _outgoing(d: Delivery) -> Outgoing:
    return Outgoing(
        id=d.id,
        channel=d.channel,
        claim_token=d.claim_token,
        attempts=d.attempts,
        chat_id=d.chat_id,
        user_id=d.user_id,
        webhook_id=d.webhook_id,
        subject=d.subject,
        text=d.text,
        reply_markup=d.reply_markup,
    )


def record_sent(out: Outgoing, message_id: int | None) -> None:
    Delivery.objects.filter(id=out.id).update(
        status=Delivery.SENT,
        sent_at=timezone.now(),
        telegram_message_id=message_id,
        attempts=out.attempts + 1,
        claimed_until=None,
        last_error="",
    )


def release(outs: list[Outgoing]) -> None:
    """Give back claims no send was started for (a stopping worker), so any worker may take
    the rows at once rather than after their lease."""
    for out in outs:
        Delivery.objects.filter(id=out.id, claim_token=out.claim_token).update(claimed_until=None)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(
        settings.TELEGRAM_RETRY_MAX_SECONDS,
        settings.TELEGRAM_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def record_failure(
    out: Outgoing,
    message: str,
    *,
    permanent: bool,
    chat_gone: bool = False,
    retry_after: float | None = None,
) -> str:
    """Decide retry, backoff or dead letter; returns the new status."""
    attempts = out.attempts + 1
    now = timezone.now()
    if permanent or attempts >= settings.TELEGRAM_MAX_ATTEMPTS:
        status, next_at = Delivery.DEAD, now
    elif retry_after is not None:
        status, next_at = Delivery.FAILED, now + dt.timedelta(seconds=retry_after)
    else:
        status, next_at = Delivery.FAILED, now + dt.timedelta(seconds=backoff_seconds(attempts))
    with transaction.atomic():
        # Only while our claim stands: if it expired and another worker took the row, its
        # answer wins (overwriting a "sent" with "failed" would cause a duplicate).
        Delivery.objects.filter(id=out.id, claim_token=out.claim_token).exclude(
            status=Delivery.SENT
        ).update(
            status=status,
            attempts=attempts,
            next_attempt_at=next_at,
            claimed_until=None,
            last_error=message[:2000],
        )
        # Only a bot channel's chat can be gone: a refused email or webhook deactivates nothing.
        if chat_gone and out.chat_id is not None and out.channel in BOT_CHANNELS:
            deactivate_chat(out.channel, out.chat_id, message)
    log.warning(
        "delivery %s on %s to %s: %s -> %s",
        out.id,
        out.channel,
        out.chat_id if out.chat_id is not None else out.webhook_id or out.user_id,
        message,
        status,
    )
    return status
