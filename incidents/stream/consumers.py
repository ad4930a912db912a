"""Websocket consumers of the live stream (STYLE.md rule 11: authenticate, join, forward).

Frames: ``hello`` on connect, ``event`` per committed change, ``heartbeat`` (the head seq, every
STREAM_HEARTBEAT_SECONDS, only to clients that are behind it: an event was not broadcast).
Close codes (docs/live-stream.md): 4401 not signed in, 4403 no Breach Desk role, 4404 unknown
incident, 4008 too slow (dropped; reconnect and resync), 1011 channel layer unavailable. 4401
and 4403 also end a connection whose access ends while it is open (``Hub.recheck``).
A foreign Origin is refused at the handshake (HTTP 403) by core/ws_origin.py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import weakref
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from core.authentication import Credential, user_for_credential
from core.gc_tuning import QuietCollector
from core.roles import roles_of
from incidents.models import Incident, LogHead, sees
from incidents.stream import push
from incidents.stream.backpressure import TransportGate

log = logging.getLogger("breach_desk.stream")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_ROLE = 4403
CLOSE_UNKNOWN_INCIDENT = 4404
CLOSE_TOO_SLOW = 4008
CLOSE_UNAVAILABLE = 1011
# Joining the group waits longer than a broadcast may: after a deploy a thousand clients
# reconnect at once, and refusing them on a short timeout would only make them come back.
# A Redis that is down refuses at once; this only bounds a Redis that hangs.
JOIN_TIMEOUT = 10.0
# How long a heartbeat waits when the log's head is newer than the hub has heard: an event's
# broadcast leaves after its commit, so a head read in between names an event still on its
# way, and announcing it would send every client of the process to the feed for nothing.
BEAT_GRACE_SECONDS = 1.0


def _incident_exists(user: Any, reference: str) -> bool:
    return Incident.objects.visible_to(user).filter(reference=reference).exists()


class Hub:
    """One per event loop, i.e. per daphne process: a single channel-layer subscription whose
    frames are fanned out to the local consumers, and the heartbeat.

    channels' own path (a layer channel per consumer, a receive task and a dispatch per frame
    per client) cost ~3.5 s at 1,000 clients in one process; this one is a loop over the
    consumers (bench/README.md, "Live stream"). Sends under daphne never block (a slow client's
    frames wait in its own bounded backlog), so one client cannot hold up the loop."""

    def __init__(self) -> None:
        self.consumers: set[EventStreamConsumer] = set()
        self.ready: asyncio.Future | None = None
        self.heard = 0  # the newest seq the channel layer brought
        self.tasks: list[asyncio.Task] = []
        self.access_changed = asyncio.Event()
        self.ended_sessions: set[str] = set()  # signed out; closed by the next re-check
        # Collects what a storm of connections left due once it is over (core/gc_tuning.py).
        self.quiet = QuietCollector(settings.WEB_GC_TUNING)

    async def join(self, consumer: EventStreamConsumer) -> None:
        """Return once frames committed from now on will reach ``consumer``."""
        loop = asyncio.get_running_loop()
        if self.ready is None or (self.ready.done() and self.ready.exception() is not None):
            self.ready = loop.create_future()
            started = self._listen(self.ready), self._beat(), self._guard(), self._recheck_timer()
            self.tasks = [loop.create_task(task) for task in started]
        self.consumers.add(consumer)
        self.quiet.busy()
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), JOIN_TIMEOUT)
        except BaseException:
            self.leave(consumer)
            raise

    def leave(self, consumer: EventStreamConsumer) -> None:
        self.consumers.discard(consumer)
        self.quiet.busy()
        if not self.consumers:
            for task in self.tasks:
                task.cancel()
            self.tasks, self.ready = [], None

    async def _listen(self, ready: asyncio.Future) -> None:
        layer = get_channel_layer()
        try:
            channel = await layer.new_channel()
            await layer.group_add(push.GROUP, channel)
        except Exception as exc:
            ready.set_exception(exc)
            ready.exception()  # retrieved: each waiting consumer reports it
            return
        ready.set_result(channel)
        try:
            while True:
                try:
                    message = await layer.receive(channel)
                except Exception:
                    # Keep listening: a dead hub would leave every client connected but deaf.
                    log.exception("live stream: receiving from the channel layer failed")
                    await asyncio.sleep(1)
                    continue
                if message.get("type") == push.MESSAGE_TYPE:
                    await self._fan_out(message)
                elif message.get("type") == push.ACCESS_TYPE:
                    self.ended_sessions.update(message.get("ended_sessions", ()))
                    self.access_changed.set()
        finally:
            with contextlib.suppress(Exception):
                await layer.group_discard(push.GROUP, channel)

    async def _fan_out(self, message: dict[str, Any]) -> None:
        self.heard = max(self.heard, message["seq"])
        if message.get("audience") is not None:  # once per frame, not once per client
            message = {**message, "audience": frozenset(message["audience"])}
        await self._each("forwarding", lambda consumer: consumer.stream_event(message))

    async def _each(self, what: str, call: Any) -> None:
        """``call(consumer)`` for every local client; one failing never stops the others."""
        for consumer in list(self.consumers):
            try:
                await call(consumer)
            except Exception:
                log.exception("live stream: %s to one client failed", what)

    async def _beat(self) -> None:
        """A broadcast lost while Redis was down would leave an idle client stale until the
        next event; the heartbeat lets it notice and resync within one beat. One query per
        process per beat, not one per client. A head the hub has not heard of yet is
        announced BEAT_GRACE_SECONDS later: by then an event that was on its way has come
        (and its clients are not behind it), and one that was lost has not."""
        while True:
            await asyncio.sleep(settings.STREAM_HEARTBEAT_SECONDS)
            try:
                seq = await database_sync_to_async(LogHead.objects.latest_seq)()
            except Exception as exc:
                log.warning("live stream: heartbeat cannot read the log head (%s)", exc)
                continue
            if seq > self.heard:
                await asyncio.sleep(BEAT_GRACE_SECONDS)
            await self._each("heartbeat", partial(_heartbeat, seq=seq))

    async def _recheck_timer(self) -> None:
        while True:
            await asyncio.sleep(settings.STREAM_ACCESS_CHECK_SECONDS)
            self.access_changed.set()

    async def _guard(self) -> None:
        """Re-check the clients whenever asked (an announced change, or the timer); requests
        that arrive during a re-check are served by one more."""
        while True:
            await self.access_changed.wait()
            self.access_changed.clear()
            try:
                await self.recheck()
            except Exception:
                log.exception("live stream: re-checking the clients' access failed")

    async def recheck(self) -> None:
        """Ask again who every local client is: one lookup per distinct credential, in one trip
        to a thread. A client whose token or session no longer signs in an active user, or whose
        session was announced as signed out, is closed with 4401; one left without a role with
        4403; changed roles apply from the next frame."""
        ended, self.ended_sessions = self.ended_sessions, set()
        consumers = [c for c in self.consumers if c.joined]
        if not consumers:
            return
        verdicts = await database_sync_to_async(_verdicts)({c.credential for c in consumers})
        verdicts.update({("session", key): (CLOSE_UNAUTHENTICATED, frozenset()) for key in ended})
        for consumer in consumers:
            try:
                await consumer.reauthorise(*verdicts[consumer.credential])
            except Exception:
                log.exception("live stream: closing one client failed")


def _verdict(user: Any) -> tuple[int | None, frozenset[str]]:
    """A close code for ``user`` (None: may watch) and their roles."""
    if user is None or not user.is_authenticated:
        return CLOSE_UNAUTHENTICATED, frozenset()
    roles = roles_of(user)
    return (None if roles else CLOSE_NO_ROLE), roles


def _verdicts(
    credentials: set[Credential | None],
) -> dict[Credential | None, tuple[int | None, frozenset[str]]]:
    return {credential: _verdict(user_for_credential(credential)) for credential in credentials}


def _heartbeat(consumer: EventStreamConsumer, *, seq: int) -> Any:
    return consumer.heartbeat(seq)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]


class EventStreamConsumer(AsyncWebsocketConsumer):
    """``/ws/events/`` (every visible incident) and ``/ws/incidents/<reference>/`` (one)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.credential = self.scope.get("credential")
        self.reference = self.scope["url_route"]["kwargs"].get("reference")
        self.user_id = getattr(user, "pk", None)
        self.joined = False
        refusal, self.roles = await database_sync_to_async(_verdict)(user)
        if refusal is not None:
            return await self._refuse(refusal)
        if self.reference and not await database_sync_to_async(_incident_exists)(
            user, self.reference
        ):
            return await self._refuse(CLOSE_UNKNOWN_INCIDENT)
        self.next_seq: int | None = None  # unknown until the head is read
        self.held: dict[int, dict[str, Any]] = {}
        self.hold_timer: asyncio.TimerHandle | None = None
        self.backlog: collections.deque[str] = collections.deque()
        self.drainer: asyncio.Task | None = None
        self.gate = TransportGate(self.base_send)
        try:
            # Join before reading the head: an event committed after the read is then certain
            # to reach us, and one committed before it is covered by hello's seq.
            await hub().join(self)
        except Exception as exc:
            log.warning("live stream: cannot join the channel layer (%s)", exc)
            return await self._refuse(CLOSE_UNAVAILABLE)
        self.joined = True
        try:
            seq = await database_sync_to_async(LogHead.objects.latest_seq)()
        except BaseException:
            self._leave()
            raise
        self.next_seq = seq + 1
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "seq": seq}))
        await self._release()  # anything that came in while the head was being read

    async def _refuse(self, code: int) -> None:
        # Accept first: a close before accept becomes an HTTP 403 and the client never learns
        # the reason. Browsers see the code in CloseEvent.code.
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        self._leave()

    def _leave(self) -> None:
        if getattr(self, "joined", False):
            self.joined = False
            self._detach()

    def _detach(self) -> None:
        hub().leave(self)
        if self.hold_timer is not None:
            self.hold_timer.cancel()
        if self.drainer is not None:
            self.drainer.cancel()

    async def reauthorise(self, refusal: int | None, roles: frozenset[str]) -> None:
        """The outcome of ``Hub.recheck`` for this client."""
        if not self.joined:
            return
        if refusal is None:
            self.roles = roles
            return
        log.info("live stream: closing a client whose access ended (%s)", refusal)
        self.joined = False  # not one more frame
        await self.close(code=refusal)
        self._detach()  # after the close: leaving may end the task running this re-check

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored (the stream never writes)."""

    async def stream_event(self, message: dict[str, Any]) -> None:
        seq = message["seq"]
        if not self.joined:
            return
        if self.next_seq is not None and seq < self.next_seq:
            return  # covered by hello, or given up on and covered by the client's resync
        self.held[seq] = message
        if self.next_seq is not None:
            await self._release()

    async def heartbeat(self, seq: int) -> None:
        if self.joined and self.next_seq is not None and seq >= self.next_seq:
            await self._deliver(json.dumps({"type": "heartbeat", "seq": seq}))

    async def _release(self) -> None:
        for seq in [s for s in self.held if s < self.next_seq]:
            del self.held[seq]
        while self.joined and self.next_seq in self.held:
            message = self.held.pop(self.next_seq)
            self.next_seq += 1
            # Decided from the roles last read (at connect, then by Hub.recheck) and the
            # audience the frame carries: a query per frame per client is too dear.
            if self.reference in (None, message["reference"]) and self._sees(message):
                await self._forward(message["text"])
        if not self.joined:
            return
        if self.held and self.hold_timer is None:
            loop = asyncio.get_running_loop()
            self.hold_timer = loop.call_later(
                settings.STREAM_REORDER_SECONDS, lambda: asyncio.ensure_future(self._skip_gap())
            )
        elif not self.held and self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None

    async def _forward(self, text: str) -> None:
        """An event frame this client may see, in ``seq`` order: sent now (the dashboard's
        socket sends it with the panels of its change instead: frontend/live.py)."""
        await self._deliver(text)

    def _sees(self, message: dict[str, Any]) -> bool:
        return sees(self.roles, self.user_id, message.get("audience"))

    async def _skip_gap(self) -> None:
        """The missing seq never came (its broadcast failed): move on; the client sees the gap
        in ``seq`` and fetches it from the feed."""
        self.hold_timer = None
        if self.joined and self.held:
            self.next_seq = min(self.held)
            await self._release()

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
        """Daphne's disconnect message then ends the consumer; it resyncs when it returns."""
        log.info("live stream: dropping a client %s frames behind", len(self.backlog))
        self.backlog.clear()
        self._leave()
        await self.close(code=CLOSE_TOO_SLOW)
