"""The live stream's publishing side: after an event commits, tell every web process about it.

``append_event`` (incidents/events.py) schedules ``publish_event`` with ``transaction.on_commit``
at the write site; nothing else registers it.

A push may be missed (STYLE.md rule 5): clients notice a gap in ``seq`` or reconnect, and catch
up from ``GET /api/events/?after=<seq>``. So a broadcast is bounded in time and never raises into
the write that caused it; Redis being down costs a log line, not a failed transition.

The same path tells every process when someone's access shrank (``access_changed``), so that
connected clients are re-checked at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.models import ApiToken
from incidents.models import Event
from incidents.stream.frames import EventSerializer, IncidentSummarySerializer

log = logging.getLogger("breach_desk.stream")

# One group for every stream connection; each consumer filters what it forwards. Every consumer
# sees every seq, so it can put events back in order and tell a real gap from a filtered one.
GROUP = "incident-events"
MESSAGE_TYPE = "stream.event"
# Also through GROUP: "re-check who your clients are" (access_changed).
ACCESS_TYPE = "stream.access"


def client_message(event: Event) -> dict[str, Any]:
    """The websocket frame for one event: the same shapes as the REST API."""
    return {
        "type": "event",
        "seq": event.seq,
        "event": EventSerializer(event).data,
        "incident": IncidentSummarySerializer(event.incident).data,
    }


def layer_message(event: Event) -> dict[str, Any]:
    """What travels through the channel layer: the frame already encoded, once per event,
    so a thousand consumers forward one string instead of encoding a thousand times. In ASCII
    (JSON escapes): daphne still encodes each send to UTF-8, a copy for an ASCII string but a
    character-by-character walk for any other (docs/live-stream.md, Frames)."""
    text = json.dumps(client_message(event), cls=DjangoJSONEncoder)
    audience = event.incident.audience()
    return {
        "type": MESSAGE_TYPE,
        "seq": event.seq,
        "reference": event.incident.reference,
        "text": text,
        # Who beside admins may see it (need to know): None for an unrestricted incident, else
        # its members' and commander's ids as they were at the commit, so the consumers decide
        # per frame without a query (incidents.models.sees).
        "audience": None if audience is None else sorted(audience),
    }


async def _group_send(message: dict[str, Any], timeout: float) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await asyncio.wait_for(layer.group_send(GROUP, message), timeout)


def broadcast_now(message: dict[str, Any]) -> None:
    """Send to every stream connection now, waiting at most STREAM_SEND_TIMEOUT seconds.
    Raises on failure; ``publish`` is the caller that swallows."""
    async_to_sync(_group_send)(message, settings.STREAM_SEND_TIMEOUT)


def publish(message: dict[str, Any]) -> None:
    """Send ``message`` to every web process. Never raises: what it carries may be missed and
    is re-fetched (STYLE.md rule 5), so Redis being down costs a log line, not a request."""
    try:
        broadcast_now(message)
    except Exception as exc:  # Redis down, timeout, anything: see _log_missed
        _log_missed(message, exc)


def publish_event(event: Event) -> None:
    """Push one committed event to the live stream (scheduled by ``append_event`` with
    ``transaction.on_commit``). Never raises: the change is already committed and stays a
    success whatever happens here."""
    try:
        message = layer_message(event)
    except Exception as exc:
        _log_missed({"type": MESSAGE_TYPE, "seq": event.seq}, exc)
        return
    publish(message)


def access_changed(ended_session: str | None = None) -> None:
    """Tell every web process that someone's access may have shrunk (deactivated, a role or a
    token taken away, ``ended_session`` signed out): each re-checks its connected clients now
    instead of at the next STREAM_ACCESS_CHECK_SECONDS. Sent after the change commits; never
    raises.

    A sign-out names its session because Django announces it before deleting the session: a
    re-check could still find it valid."""
    message = {"type": ACCESS_TYPE, "ended_sessions": [ended_session] if ended_session else []}
    transaction.on_commit(lambda: publish(message), robust=True)


def watch_access_changes() -> None:
    """Connect ``access_changed`` to what can end or narrow someone's access (apps.ready).
    Anything that bypasses signals (a queryset update, sessions cleared in bulk) is caught by
    the periodic re-check."""
    user_model = get_user_model()

    def saved(sender: Any, instance: Any, created: bool, update_fields: Any, **kw: Any) -> None:
        if not created and set(update_fields or ()) != {"last_login"}:  # not every sign-in
            access_changed()

    def groups_changed(sender: Any, action: str, **kw: Any) -> None:
        if action in ("post_remove", "post_clear"):
            access_changed()

    def signed_out(sender: Any, request: Any, **kw: Any) -> None:
        access_changed(getattr(getattr(request, "session", None), "session_key", None))

    def anything(**kw: Any) -> None:
        access_changed()

    user_logged_out.connect(signed_out, weak=False, dispatch_uid="stream-access-logout")
    post_save.connect(saved, sender=user_model, weak=False, dispatch_uid="stream-access-user")
    post_delete.connect(anything, sender=user_model, weak=False, dispatch_uid="stream-access-gone")
    post_delete.connect(anything, sender=ApiToken, weak=False, dispatch_uid="stream-access-token")
    m2m_changed.connect(
        groups_changed,
        sender=user_model.groups.through,
        weak=False,
        dispatch_uid="stream-access-groups",
    )


def _log_missed(message: dict[str, Any], exc: BaseException) -> None:
    if message["type"] == ACCESS_TYPE:
        log.warning(
            "live stream: access change not announced (%s: %s); clients are re-checked within "
            "STREAM_ACCESS_CHECK_SECONDS",
            type(exc).__name__,
            exc,
        )
        return
    log.warning(
        "live stream: event seq=%s not broadcast (%s: %s); clients resync from /api/events/",
        message["seq"],
        type(exc).__name__,
        exc,
    )
