"""The outbox: turn events into deliveries, claim due ones, record what Telegram answered.

All synchronous ORM code; the worker calls it between its async sends (STYLE.md rules 5, 10).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.models import Profile
from core.roles import roles_of
from incidents.acknowledgements import ACKNOWLEDGED
from incidents.choices import OPEN_STATES
from incidents.lifecycle import ready_transitions
from incidents.models import Event, Incident, LogHead
from incidents.workspace.tasks import TASK_EVENTS
from incidents.workspace.updates import STATUS_UPDATE
from notifier.linking import deactivate_chat
from notifier.messages import alert_buttons, alert_text
from notifier.models import EMAIL, TELEGRAM, ChatLink, Cursor, Delivery
from notifier.recipients import active_links, recipients
from notifier.status_updates import status_update_message
from notifier.task_alerts import task_alert_message

log = logging.getLogger(__name__)
CURSOR = "events"
DERIVE_BATCH = 200


@dataclass(frozen=True)
class Outgoing:
    """What the sender needs, detached from the ORM so it can cross into the event loop."""

    id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    claim_token: str
    attempts: int


def derive_deliveries(limit: int = DERIVE_BATCH) -> int:
    """Create deliveries for events after the cursor and advance it, in one transaction."""
    if Cursor.objects.filter(name=CURSOR, seq__gte=LogHead.objects.latest_seq()).exists():
        return 0
    with transaction.atomic():
        cursor, _ = Cursor.objects.select_for_update().get_or_create(name=CURSOR)
        events = list(Event.objects.after(cursor.seq).select_related("incident", "actor")[:limit])
        if not events:
            return 0
        links = active_links()
        languages = {
            p.user_id: p.effective_language()
            for p in Profile.objects.filter(user__in=[lk.user_id for lk in links])
        }
        rows = [row for event in events for row in _routed(event, links, languages)]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        cursor.seq = events[-1].seq
        cursor.save(update_fields=["seq"])
    return len(rows)


def _routed(event: Event, links: list[ChatLink], languages: dict[int, str]) -> list[Delivery]:
    try:
        return _rows_for(event, links, languages)
    except DatabaseError:
        raise  # the transaction is broken; the worker reconnects and derives again
    except Exception:
        # An event nobody can route must not hold the cursor, and every later alert, forever.
        log.exception("event %s: recipients could not be worked out; no alert for it", event.seq)
        return []


def _rows_for(event: Event, links: list[ChatLink], languages: dict[int, str]) -> list[Delivery]:
    incident = event.incident
    # The steps a recipient may take depend on the incident and their roles only (the lifecycle's
    # permissions are role checks), and reading the guards costs queries: once per role set.
    steps: dict[frozenset[str], list[str]] = {}

    def steps_for(user: Any) -> list[str]:
        roles = roles_of(user)
        if roles not in steps:
            steps[roles] = ready_transitions(incident, user)
        return steps[roles]

    rows = []
    for link in recipients(event, links):
        language = languages.get(link.user_id) or settings.LANGUAGE_CODE
        row = Delivery(
            key=f"event:{event.seq}:{link.chat_id}",
            kind=event.kind,
            event=event,
            incident=incident,
            user=link.user,
            chat_id=link.chat_id,
        )
        built = _OWN_MESSAGES.get(event.kind)
        if built is not None:  # a message of its own, not an alert about a change
            rows.append(_own_message_row(row, built, language, event))
            continue
        try:
            row.text = alert_text(
                language=language,
                kind=event.kind,
                reference=incident.reference,
                severity=incident.severity,
                state=event.to_state or incident.state,
                title=incident.title,
                actor=event.actor_username,
                from_state=event.from_state,
                # what an edit changed the severity from (edits alert only for a new severity)
                from_severity=(event.data.get("changes") or {}).get("severity", {}).get("from", ""),
                decision_stale=event.data.get("notification") == "stale",
            )
            row.reply_markup = alert_buttons(
                language=language,
                reference=incident.reference,
                acknowledge=event.kind not in (ACKNOWLEDGED,) and incident.state in OPEN_STATES,
                # Next steps only while the event's state is the incident's: once it moved on,
                # an alert offers none (a press would only hear the refusal).
                transitions=steps_for(link.user) if event.to_state == incident.state else (),
            )
        except Exception as exc:
            log.exception("delivery %s could not be built; dead-lettered", row.key)
            unbuildable(row, exc)
        rows.append(row)
    return rows


# Events whose message is their own (issue 20): the status update itself; a task assigned to
# the recipient.
_OWN_MESSAGES: dict[str, Callable[..., tuple[str, Any]]] = {
    STATUS_UPDATE: status_update_message,
    **{kind: task_alert_message for kind in TASK_EVENTS},
}


def _own_message_row(
    row: Delivery, build: Callable[..., tuple[str, Any]], language: str, event: Event
) -> Delivery:
    """``row`` with the text and buttons ``build`` makes for the event, in the recipient's
    language; dead-lettered when they cannot be built (a broken database is raised)."""
    try:
        row.text, row.reply_markup = build(language=language, event=event, user=row.user)
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("delivery %s could not be built; dead-lettered", row.key)
        unbuildable(row, exc)
    return row


def unbuildable(row: Delivery, exc: Exception) -> Delivery:
    """Turn a delivery whose message could not be built into a dead letter: it is kept, with
    the reason, for the admin's dead-letter list, but never claimed or sent."""
    row.status, row.text, row.reply_markup = Delivery.DEAD, "", None
    row.last_error = _build_error(exc)
    return row


def _build_error(exc: Exception) -> str:
    return f"could not build the message: {exc!r}"[:2000]


def enqueue(
    *,
    kind: str,
    key: str,
    link: ChatLink,
    text: str = "",
    reply_markup: dict[str, Any] | None = None,
    incident: Incident | None = None,
    error: Exception | None = None,
) -> Delivery | None:
    """Add a delivery that no event produced (a legal-deadline reminder). Idempotent by ``key``:
    enqueueing the same reminder twice sends it once. Returns None if it already existed.

    With ``error``, the message could not be built: the delivery is recorded under its usual key
    dead at once (see ``unbuildable``), so later scans do not try it again."""
    row = Delivery(
        kind=kind,
        incident=incident,
        user=link.user,
        chat_id=link.chat_id,
        text=text,
        reply_markup=reply_markup,
    )
    if error is not None:
        unbuildable(row, error)
    fields = ("kind", "incident", "user", "chat_id", "text", "reply_markup", "status", "last_error")
    delivery, created = Delivery.objects.get_or_create(
        key=key, defaults={name: getattr(row, name) for name in fields}
    )
    return delivery if created else None


def enqueue_personal(
    user: Any,
    *,
    kind: str,
    key: str,
    build: Callable[[str, str], tuple[str, str, dict[str, Any] | None]],
    incident: Incident | None = None,
) -> int:
    """A message to one person that no event routes (a shift taken from them), on every channel
    they have: each active chat link, and their account email when email alerts are on.
    ``build(language, channel)`` returns ``(subject, text, reply_markup)``: HTML for a chat, plain
    text for email. Idempotent by ``key`` per channel; returns how many rows were added."""
    language = Profile.for_user(user).effective_language()
    targets: list[tuple[str, int | None]] = [
        (link.channel, link.chat_id) for link in ChatLink.objects.active().filter(user=user)
    ]
    if settings.EMAIL_ALERTS and user.email:
        targets.append((EMAIL, None))
    added = 0
    for channel, chat_id in targets:
        row = Delivery(channel=channel, kind=kind, incident=incident, user=user, chat_id=chat_id)
        try:
            row.subject, row.text, row.reply_markup = build(language, channel)
        except DatabaseError:
            raise
        except Exception as exc:
            log.exception("personal message %s could not be built; dead-lettered", key)
            unbuildable(row, exc)
        fields = ("channel", "kind", "incident", "user", "chat_id", "subject", "text")
        defaults = {name: getattr(row, name) for name in fields}
        defaults |= {"reply_markup": row.reply_markup, "status": row.status}
        defaults["last_error"] = row.last_error
        _, created = Delivery.objects.get_or_create(key=f"{key}:{channel}", defaults=defaults)
        added += created
    return added


def claim_due(limit: int, *, busy_chats: set[int], lease_seconds: float) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries, at most one per chat and none for ``busy_chats``
    (chats this worker is still sending to), so another worker never sends the same row."""
    now = timezone.now()
    candidates = (
        Delivery.objects.due(now)
        .exclude(chat_id__in=busy_chats)
        .order_by("next_attempt_at", "id")
        .values_list("id", "chat_id")[: limit * 4]
    )
    picked: dict[int, int] = {}
    for pk, chat_id in candidates:
        if chat_id not in picked:
            picked[chat_id] = pk
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
    return [Outgoing(d.id, d.chat_id, d.text, d.reply_markup, token, d.attempts) for d in claimed]


def record_sent(out: Outgoing, message_id: int | None) -> None:
    Delivery.objects.filter(id=out.id).update(
        status=Delivery.SENT,
        sent_at=timezone.now(),
        telegram_message_id=message_id,
        attempts=out.attempts + 1,
        claimed_until=None,
        last_error="",
    )


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
        if chat_gone:
            deactivate_chat(TELEGRAM, out.chat_id, message)  # the worker's channel (issue 22)
    log.warning("delivery %s to chat %s: %s -> %s", out.id, out.chat_id, message, status)
    return status
