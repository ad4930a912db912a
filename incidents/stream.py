"""The live stream's publishing side: after an event commits, tell every web process about it.

A push may be missed (STYLE.md rule 5): clients notice a gap in ``seq`` or reconnect, and catch
up from ``GET /api/events/?after=<seq>``. So a broadcast is bounded in time and never raises into
the write that caused it; Redis being down costs a log line, not a failed transition.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from incidents.models import Event

log = logging.getLogger("breach_desk.stream")

# One group for every stream connection; each consumer filters what it forwards. Every consumer
# sees every seq, so it can put events back in order and tell a real gap from a filtered one.
GROUP = "incident-events"
MESSAGE_TYPE = "stream.event"


def client_message(event: Event) -> dict[str, Any]:
    """The websocket frame for one event: the same shapes as the REST API."""
    # Imported here: the serializers pull in the lifecycle, which is not needed to load this module.
    from incidents.api.serializers import EventSerializer, IncidentSummarySerializer

    return {
        "type": "event",
        "seq": event.seq,
        "event": EventSerializer(event).data,
        "incident": IncidentSummarySerializer(event.incident).data,
    }


def layer_message(event: Event) -> dict[str, Any]:
    """What travels through the channel layer: the frame already encoded, once per event,
    so a thousand consumers forward one string instead of encoding a thousand times."""
    text = json.dumps(client_message(event), cls=DjangoJSONEncoder, ensure_ascii=False)
    return {
        "type": MESSAGE_TYPE,
        "seq": event.seq,
        "reference": event.incident.reference,
        "text": text,
    }


async def _group_send(message: dict[str, Any], timeout: float) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    await asyncio.wait_for(layer.group_send(GROUP, message), timeout)


def broadcast_now(message: dict[str, Any]) -> None:
    """Send to every stream connection now, waiting at most STREAM_SEND_TIMEOUT seconds.
    Raises on failure; the hook below is the caller that swallows."""
    async_to_sync(_group_send)(message, settings.STREAM_SEND_TIMEOUT)


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The web server's event loop when called from one of its request threads, else None.

    asgiref records it in every thread it runs sync code in (it is how ``async_to_sync`` finds
    its way back); a management command or a plain test has none."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop is not None and loop.is_running() else None


async def _send_logged(message: dict[str, Any]) -> None:
    try:
        await _group_send(message, settings.STREAM_SEND_TIMEOUT)
    except Exception as exc:
        _log_missed(message["seq"], exc)


def broadcast_committed_event(event: Event) -> None:
    """``on_event_committed`` hook. Never raises: the change is already committed and stays a
    success whatever happens here.

    In a web request the send is handed to the server's event loop and the request answers
    without waiting for it: the push has the same time bound and the same logging either way,
    and the request thread stops paying a round trip to the loop per event (bench/README.md)."""
    try:
        message = layer_message(event)
        loop = _serving_loop()
        if loop is not None:
            asyncio.run_coroutine_threadsafe(_send_logged(message), loop)
        else:
            broadcast_now(message)
    except Exception as exc:  # Redis down, timeout, anything: the feed is the recovery path
        _log_missed(event.seq, exc)


def _log_missed(seq: int, exc: BaseException) -> None:
    log.warning(
        "live stream: event seq=%s not broadcast (%s: %s); clients resync from /api/events/",
        seq,
        type(exc).__name__,
        exc,
    )
