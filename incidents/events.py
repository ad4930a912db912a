"""Appending to the event log and the hash chain that makes tampering detectable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.prepared import PreparedQuery, insert_row, update_row
from incidents.models import Event, Incident, LogHead

GENESIS_HASH = "0" * 64

# Called with each event after its transaction commits (STYLE.md rule 5: may-be-missed effects).
# The live stream registers here; a failing hook is logged by its owner, never raised into a write.
_after_commit_hooks: list[Callable[[Event], None]] = []


def on_event_committed(hook: Callable[[Event], None]) -> Callable[[Event], None]:
    if hook not in _after_commit_hooks:
        _after_commit_hooks.append(hook)
    return hook


def to_json_safe(data: Any) -> Any:
    """Round-trip through JSON so the hash covers exactly what the database stores."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def canonical_bytes(
    *,
    seq: int,
    reference: str,
    kind: str,
    actor: str,
    created_at: str,
    from_state: str,
    to_state: str,
    data: Any,
    prev_hash: str,
) -> bytes:
    body = {
        "seq": seq,
        "incident": reference,
        "kind": kind,
        "actor": actor,
        "created_at": created_at,
        "from_state": from_state,
        "to_state": to_state,
        "data": data,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Any, reference: str | None = None) -> str:
    """The hash an event should carry, recomputed from its stored fields. ``event`` is an Event
    or any row with the same attributes (the record walk reads plain rows for speed)."""
    raw = canonical_bytes(
        seq=event.seq,
        reference=reference or event.incident.reference,
        kind=event.kind,
        actor=event.actor_username,
        created_at=event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        from_state=event.from_state,
        to_state=event.to_state,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    return hashlib.sha256(raw).hexdigest()


# Every change reads the head; compiled once (core/prepared.py), as is the incident's lock.
_LOCK_HEAD: PreparedQuery[LogHead] = PreparedQuery(
    lambda head_id: LogHead.objects.select_for_update().filter(id=head_id), marker=1
)


def lock_log_head() -> LogHead:
    """Lock the row every append goes through. Call inside ``transaction.atomic()``; holding it
    serialises appends (and anything that must be numbered in the same order, like references)."""
    head = _LOCK_HEAD.get(1)
    if head is None:  # a fresh database: the first append creates the head
        head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
    return head


def append_event(
    incident: Incident,
    kind: str,
    *,
    actor: Any,
    data: dict[str, Any] | None = None,
    from_state: str = "",
    to_state: str = "",
) -> Event:
    """Append one event to the log. Call inside ``transaction.atomic()``, after locking the incident
    (lock order: incident row, then the log head; never the other way round)."""
    head = lock_log_head()
    now = timezone.now().astimezone(dt.UTC)
    event = Event(
        seq=head.seq + 1,
        incident=incident,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        created_at=now,
        from_state=from_state,
        to_state=to_state,
        data=to_json_safe(data or {}),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event, reference=incident.reference)
    insert_row(event)
    head.seq, head.hash = event.seq, event.hash
    update_row(head, ["seq", "hash"])
    transaction.on_commit(lambda: _run_hooks(event), robust=True)
    return event


def _run_hooks(event: Event) -> None:
    for hook in list(_after_commit_hooks):
        hook(event)


def latest_seq() -> int:
    head = LogHead.objects.filter(id=1).values_list("seq", flat=True).first()
    return head or 0
