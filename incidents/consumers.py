"""Websocket consumers of the live stream (STYLE.md rule 11: authenticate, join, forward).

Frames: ``hello`` on connect, ``event`` per committed change, ``heartbeat`` (the head seq, every
STREAM_HEARTBEAT_SECONDS, only to clients that are behind it: an event was not broadcast).
Close codes (docs/live-stream.md): 4401 not signed in, 4403 no Breach Desk role, 4404 unknown
incident, 4008 too slow (dropped; reconnect and resync), 1011 channel layer unavailable.
A foreign Origin is refused at the handshake (HTTP 403) by AllowedHostsOriginValidator.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import weakref
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from core.roles import roles_of
from incidents import stream
from incidents.events import latest_seq
from incidents.models import Incident

log = logging.getLogger("breach_desk.stream")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_ROLE = 4403
CLOSE_UNKNOWN_INCIDENT = 4404
CLOSE_TOO_SLOW = 4008
CLOSE_UNAVAILABLE = 1011


def may_see(roles: frozenset[str], reference: str) -> bool:
    """Mirror of ``Incident.objects.visible_to`` for a frame already in memory: every role
    sees every incident today. Narrow both together (a query per frame per client is too dear)."""
    return bool(roles)


def _incident_exists(user: Any, reference: str) -> bool:
    return Incident.objects.visible_to(user).filter(reference=reference).exists()


# Per event loop (one per daphne process): the connected consumers and the task that tells them
# the head seq now and then. One query per process per beat, not one per client.
_watchers: dict[asyncio.AbstractEventLoop, weakref.WeakSet] = {}
_beats: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def _watch(consumer: EventStreamConsumer) -> None:
    loop = asyncio.get_running_loop()
    _watchers.setdefault(loop, weakref.WeakSet()).add(consumer)
    if loop not in _beats or _beats[loop].done():
        _beats[loop] = loop.create_task(_beat(loop))


def _unwatch(consumer: EventStreamConsumer) -> None:
    loop = asyncio.get_running_loop()
    watchers = _watchers.get(loop)
    if watchers is not None:
        watchers.discard(consumer)
        if not watchers:
            del _watchers[loop]
            task = _beats.pop(loop, None)
            if task is not None:
                task.cancel()


async def _beat(loop: asyncio.AbstractEventLoop) -> None:
    """A broadcast lost while Redis was down would leave an idle client stale until the next
    event; the heartbeat lets it notice and resync within one beat."""
    while True:
        await asyncio.sleep(settings.STREAM_HEARTBEAT_SECONDS)
        try:
            seq = await database_sync_to_async(latest_seq)()
        except Exception as exc:
            log.warning("live stream: heartbeat cannot read the log head (%s)", exc)
            continue
        for consumer in list(_watchers.get(loop, ())):
            try:
                await consumer.heartbeat(seq)
            except StopConsumer:
                pass  # dropped as too slow; daphne's disconnect message ends it
            except Exception:
                log.exception("live stream: heartbeat to one client failed")


class TransportGate:
    """Twisted push producer on daphne's connection: the transport pauses us when its write
    buffer passes 64 KiB (the client is not reading) and resumes us when it drains, so a slow
    client queues frames here, where the queue is bounded, not in an unbounded socket buffer."""

    def __init__(self, send: Any) -> None:
        self.open = asyncio.Event()
        self.open.set()
        # daphne hands each application ``partial(server.handle_reply, protocol)``; elsewhere
        # (tests, other servers) there is no protocol and the gate simply stays open.
        protocol = next(iter(getattr(send, "args", ())), None)
        transport = getattr(protocol, "transport", None)
        if transport is not None and getattr(transport, "producer", None) is None:
            try:
                protocol.registerProducer(self, True)
            except Exception:  # never refuse a client over a diagnostic
                log.debug("live stream: could not watch the transport", exc_info=True)

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.open.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self.open.set()

    def stopProducing(self) -> None:  # noqa: N802
        self.open.set()


class EventStreamConsumer(AsyncWebsocketConsumer):
    """``/ws/events/`` (every visible incident) and ``/ws/incidents/<reference>/`` (one)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.reference = self.scope["url_route"]["kwargs"].get("reference")
        self.joined = False
        if user is None or not user.is_authenticated:
            return await self._refuse(CLOSE_UNAUTHENTICATED)
        self.roles = await database_sync_to_async(roles_of)(user)
        if not self.roles:
            return await self._refuse(CLOSE_NO_ROLE)
        if self.reference and not await database_sync_to_async(_incident_exists)(
            user, self.reference
        ):
            return await self._refuse(CLOSE_UNKNOWN_INCIDENT)
        try:
            # Join before reading the head: an event committed after the read is then certain
            # to come through the group, and one committed before it is covered by hello's seq.
            await asyncio.wait_for(
                self.channel_layer.group_add(stream.GROUP, self.channel_name),
                settings.STREAM_SEND_TIMEOUT * 4,
            )
        except Exception as exc:
            log.warning("live stream: cannot join the channel layer (%s)", exc)
            return await self._refuse(CLOSE_UNAVAILABLE)
        self.joined = True
        seq = await database_sync_to_async(latest_seq)()
        self.next_seq = seq + 1
        self.held: dict[int, dict[str, Any]] = {}
        self.hold_timer: asyncio.TimerHandle | None = None
        self.backlog: collections.deque[str] = collections.deque()
        self.drainer: asyncio.Task | None = None
        self.gate = TransportGate(self.base_send)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "seq": seq}))
        _watch(self)

    async def _refuse(self, code: int) -> None:
        # Accept first: a close before accept becomes an HTTP 403 and the client never learns
        # the reason. Browsers see the code in CloseEvent.code.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            self.joined = False
            _unwatch(self)
            if self.hold_timer is not None:
                self.hold_timer.cancel()
            if self.drainer is not None:
                self.drainer.cancel()
            try:
                await self.channel_layer.group_discard(stream.GROUP, self.channel_name)
            except Exception:  # Redis down: its subscription dies with it
                log.debug("live stream: group_discard failed", exc_info=True)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored (the stream never writes)."""

    async def stream_event(self, message: dict[str, Any]) -> None:
        seq = message["seq"]
        if not self.joined or seq < self.next_seq:
            return  # before hello, or given up on and already covered by the client's resync
        self.held[seq] = message
        await self._release()

    async def heartbeat(self, seq: int) -> None:
        if self.joined and seq >= self.next_seq:
            await self._deliver(json.dumps({"type": "heartbeat", "seq": seq}))

    async def _release(self) -> None:
        while self.next_seq in self.held:
            message = self.held.pop(self.next_seq)
            self.next_seq += 1
            if self.reference in (None, message["reference"]) and may_see(
                self.roles, message["reference"]
            ):
                await self._deliver(message["text"])
        if self.held and self.hold_timer is None:
            loop = asyncio.get_running_loop()
            self.hold_timer = loop.call_later(
                settings.STREAM_REORDER_SECONDS, lambda: asyncio.ensure_future(self._skip_gap())
            )
        elif not self.held and self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None

    async def _skip_gap(self) -> None:
        """The missing seq never came (its broadcast failed): move on; the client sees the gap
        in ``seq`` and fetches it from the feed."""
        self.hold_timer = None
        if self.joined and self.held:
            self.next_seq = min(self.held)
            try:
                await self._release()
            except StopConsumer:
                pass  # closed as too slow; daphne's disconnect message ends the consumer

    async def _deliver(self, text: str) -> None:
        if not self.backlog and self.gate.open.is_set():
            await self.send(text_data=text)
            return
        if len(self.backlog) >= settings.STREAM_CLIENT_QUEUE:
            await self._drop_slow_client()
            return
        self.backlog.append(text)
        if self.drainer is None:
            self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self.backlog:
            await self.gate.open.wait()
            await self.send(text_data=self.backlog.popleft())
        self.drainer = None

    async def _drop_slow_client(self) -> None:
        log.info("live stream: dropping a client %s frames behind", len(self.backlog))
        self.backlog.clear()
        await self.close(code=CLOSE_TOO_SLOW)
        await self.disconnect(CLOSE_TOO_SLOW)
        raise StopConsumer()
