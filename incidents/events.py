"""The event log (DESIGN.md, "One spine"): appending to it, and the hash chain that makes
tampering detectable."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from incidents.legal.record_signing import checkpoint_if_due
from incidents.models import Event, Incident, LogHead
from incidents.stream import push

GENESIS_HASH = "0" * 64
# On PostgreSQL every INSERT into the log sends this NOTIFY, delivered at commit (the trigger of
# migration incidents/0004): the notifier worker LISTENs on it instead of polling.
NOTIFY_CHANNEL = "breach_desk_events"


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


def lock_log_head() -> LogHead:
    """Lock the row every append goes through. Call inside ``transaction.atomic()``; holding it
    serialises appends (and anything that must be numbered in the same order, like references)."""
    head = LogHead.objects.select_for_update().filter(id=1).first()
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
    """Append one event to the log.

    Precondition: called inside ``changing(...)`` (incidents/changing.py), so a transaction is
    open and the incident row is locked; or, for a new incident, after ``lock_log_head()`` in
    the transaction that creates it. Lock order: the incident row, then the log head.

    After the commit, and only then, exactly two things follow: the live stream pushes the event
    (the ``on_commit`` below), and on PostgreSQL the trigger of migration incidents/0004 NOTIFYs
    the notifier worker, which reads the log itself. A rollback sends neither."""
    head = lock_log_head()
    event = Event(
        seq=head.seq + 1,
        incident=incident,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        created_at=timezone.now().astimezone(dt.UTC),
        from_state=from_state,
        to_state=to_state,
        data=to_json_safe(data or {}),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event, reference=incident.reference)
    event.save(force_insert=True)
    head.seq, head.hash = event.seq, event.hash
    # Every RECORD_CHECKPOINT_EVERY events the new head is signed here, under the same lock and
    # in the same transaction, so no crash can leave a scheduled checkpoint out.
    checkpoint_if_due(head, event.created_at)
    head.save(update_fields=["seq", "hash", "checkpoint_seq"])
    transaction.on_commit(partial(push.publish_event, event), robust=True)
    return event
