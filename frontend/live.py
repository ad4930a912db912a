"""``/ws/dashboard/``: the event stream plus the dashboard's panels, rendered once per variant
and change for every dashboard open in every process (frontend/panels.py, docs/live-stream.md).

The stream's hub already hands each event to every local consumer; the ``Board`` (one per
event loop, i.e. per daphne process) starts on the first event of a burst, renders each variant
its viewers need once (or takes the render another process announced: frontend/sharing.py)
and sends the same encoded frame to all of them, through each consumer's usual back-pressure
path; events that come in meanwhile and are not in its panels are served by one more push when
it ends.

A viewer's event frames wait for the panels of their change and travel with them, as one
``batch`` frame: one send per viewer and change instead of two (each send is a pass through
channels', daphne's and autobahn's per-message code, the most of what a viewer costs), and the
feed and the panels move together. A frame waits at most ``EVENT_WAIT_SECONDS``: a slow or
failed render never holds the feed up longer.
"""

from __future__ import annotations

import asyncio
import collections
import difflib
import json
import logging
import weakref
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.urls import re_path
from django.utils import timezone

from core.roles import ADMIN
from frontend import panels
from frontend.panels import Readers, Stamp, Variant
from frontend.sharing import Announcements, Found, Fresh, shared
from incidents.stream.consumers import EventStreamConsumer

log = logging.getLogger("breach_desk.panels")

# How long an event frame may wait for its change's panels before it is sent alone.
EVENT_WAIT_SECONDS = 0.5
# How long after a minute begins its kept figures are read (``Board._each_minute``).
MINUTE_OFFSET = 0.05


class Board:
    """The dashboards open in one process, and the renders they are waiting for."""

    def __init__(self) -> None:
        self.viewers: set[DashboardConsumer] = set()
        # One push at a time per process, started by the first event of a burst (the 80 ms
        # this used to wait for a burst to settle delayed every update); the events that come
        # in during one and are not in its panels (the rest of the burst) are served by one
        # more, so renders never pile up behind a fast stream of events, and a burst read
        # whole by the first costs no more.
        self.pushing = False
        self.arrived = 0  # the newest seq an event or heartbeat brought during the push
        self.again = False  # a viewer's roles changed during it: one more push
        self.pending: dict[tuple[Variant, Stamp], asyncio.Future] = {}
        self.holding: asyncio.TimerHandle | None = None  # sends waiting event frames alone
        self.warmed: set[Variant] = set()
        self.ticking: asyncio.Task | None = None  # refreshes what is kept at each minute
        self.readers: Readers | None = None  # who read restricted incidents, as the last push saw
        # The renders other processes announce, heard while this process has viewers.
        self.announcements = Announcements()

    def hold(self) -> None:
        """A viewer's event frame waits for the panels of its change (``send_panels``); after
        EVENT_WAIT_SECONDS every waiting frame goes alone."""
        if self.holding is None:
            self.holding = asyncio.get_running_loop().call_later(
                EVENT_WAIT_SECONDS, lambda: asyncio.ensure_future(self.release())
            )

    async def release(self) -> None:
        """Send every viewer the event frames still waiting (no panels came for them: none
        were due, the render failed, or it took too long)."""
        if self.holding is not None:
            self.holding.cancel()
            self.holding = None
        for viewer in [v for v in self.viewers if v.waiting]:
            try:
                await viewer.send_waiting()
            except Exception:
                log.exception("dashboard panels: sending to one client failed")

    def changed(self, seq: int | None = None) -> bool:
        """An event or a heartbeat ahead of the panels (``seq``), or a viewer's new roles (no
        seq), reached this process; called once per viewer. True if this call started a push:
        the caller (the hub's loop, handing every viewer the event) then yields once, so that
        the push's reads begin in the database thread while the loop hands the others their
        frames (4-7 ms at 500 viewers a process), not after. The frames are handed out before
        the push sends: its reads take longer, and the loop runs nothing else meanwhile. An
        event the push's panels do not cover (its seq is past the head the push read) is in
        those of one more push."""
        if seq is None:
            self.again = True
        elif self.pushing:
            self.arrived = max(self.arrived, seq)
        return self._start()

    def _start(self) -> bool:
        if self.pushing or not self.viewers:
            return False
        self.pushing, self.again, self.arrived = True, False, 0  # what came so far: in it
        asyncio.ensure_future(self._push_then_again())
        return True

    async def _push_then_again(self) -> None:
        at = None
        try:
            at = await self.push()
        finally:
            self.pushing = False
            # An event committed before the push read the log head is under it (the one
            # that started it, handed to the other viewers meanwhile, always is).
            if self.again or self.arrived > (at.seq if at is not None else 0):
                self._start()
            else:
                await self.release()

    async def push(self) -> Stamp | None:
        """Fresh panels to every viewer: one thread trip for the stamp, who reads restricted
        incidents (memberships change with events) and the HTML of the variants they need
        (``_prepare``), then one send per viewer. The stamp they reflect, if it was read."""
        viewers = [v for v in self.viewers if v.joined and v.variant is not None]
        if not viewers:
            return None
        seen = {(v.variant, v.roles, v.user_id) for v in viewers}  # a few, for thousands
        try:
            at, self.readers, found = await database_sync_to_async(_prepare)(seen, self.readers)
        except Exception:
            log.exception("dashboard panels: cannot read the log head")
            return None
        groups: dict[Variant, list[DashboardConsumer]] = collections.defaultdict(list)
        for viewer in viewers:
            viewer.variant = _current(
                viewer.variant, viewer.roles, viewer.user_id, self.readers.found
            )
            if (viewer.panels_seq, viewer.sent) != (at.seq, viewer.variant):  # not up to date
                groups[viewer.variant].append(viewer)
        sends = [self._send(v, at, group, found.get(v)) for v, group in groups.items()]
        await asyncio.gather(*sends)
        return at

    async def _send(
        self,
        variant: Variant,
        at: Stamp,
        viewers: list[DashboardConsumer],
        found: Found | None = None,
    ) -> None:
        try:
            html = await self.html(variant, at, found)
        except Exception:
            log.exception("dashboard panels: rendering failed")
            return
        full = panels_frame(at.seq, html)
        deltas: dict[tuple[int, str], str] = {}  # one per distinct base: usually one
        for viewer in viewers:
            frame = full
            if viewer.shown is not None:
                if viewer.shown not in deltas:
                    deltas[viewer.shown] = delta_frame(at.seq, html, viewer.shown, full)
                frame = deltas[viewer.shown]
            try:
                await viewer.send_panels(variant, at.seq, frame, html)
            except Exception:
                log.exception("dashboard panels: sending to one client failed")

    async def html(self, variant: Variant, at: Stamp, found: Found | None = None) -> str:
        """The variant's HTML as of ``at``: every local viewer awaits the same render.
        ``found``: what ``_prepare`` found of it, if it looked."""
        key = (variant, at)
        pending = self.pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(shared(variant, at, self.announcements, found))
            self.pending[key] = pending
            pending.add_done_callback(lambda _: self.pending.pop(key, None))
        html = await asyncio.shield(pending)
        if variant not in self.warmed:
            self.warmed.add(variant)
            if not panels.rendered_here(variant):
                asyncio.ensure_future(self.warm(variant, at))
        return html

    def watch(self, viewer: DashboardConsumer) -> None:
        self.viewers.add(viewer)
        self.announcements.start()
        if self.ticking is None:
            self.ticking = asyncio.ensure_future(self._each_minute())

    def unwatch(self, viewer: DashboardConsumer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and self.ticking is not None:
            self.ticking.cancel()
            self.ticking = None
            self.announcements.stop()

    async def _each_minute(self) -> None:
        """Just after each minute begins, render once (not sent, not shared) each variant
        watched here: what the panels keep for the minute (the figures, whose 90-day windows
        move with it; the lists; the rows whose age words moved) is read then, not by the
        first change of the minute, which would make that change's viewers wait for it. One
        render per variant and process a minute, however many watch, each in a trip of its
        own: a change that comes meanwhile waits in this process's database thread for the
        one render under way (~20 ms), not for all of them (eight variants: ~160 ms)."""
        while True:
            await asyncio.sleep(_until_next_minute())
            variants = {v.variant for v in self.viewers if v.joined and v.variant is not None}
            for variant in variants:
                try:
                    await database_sync_to_async(_refresh)(variant)
                except Exception:
                    log.exception("dashboard panels: the minute's refresh failed")

    async def warm(self, variant: Variant, at: Stamp) -> None:
        """Render once a variant whose panels this process so far took from another's render:
        the kept fragments (frontend/panels.py) are per process, and without them this
        process's first render of the variant would cost a change's viewers the whole
        template (~3x a render that keeps them). Once per variant, when its first viewer here
        gets its panels; the HTML is neither shared (another process's is) nor counted."""
        try:
            await database_sync_to_async(partial(panels.render, counted=False))(variant, at)
        except Exception:
            log.exception("dashboard panels: rendering failed")


def together(frames: list[str]) -> str:
    """Frames already encoded, as one: ``{"type": "batch", "frames": [...]}`` (a client handles
    each in order); a single frame as it is."""
    if len(frames) == 1:
        return frames[0]
    return '{"type": "batch", "frames": [' + ", ".join(frames) + "]}"


def panels_frame(seq: int, html: str) -> str:
    """The ``panels`` frame, in ASCII (non-ASCII characters as JSON ``\\u`` escapes): daphne
    encodes a frame's text to UTF-8 once per viewer, and one stray "·" or "—" makes Python
    store the whole ~50 KB string two bytes a character, which it then encodes at ~100 µs a
    viewer; an ASCII string is copied (~2 µs). The JSON value is the same."""
    return json.dumps({"type": "panels", "seq": seq, "html": html})


def delta_frame(seq: int, html: str, base: tuple[int, str], full: str) -> str:
    """``html`` as the lines it shares with ``base`` (the panels last sent on a connection: its
    seq and HTML) and the new ones: ``parts`` lists ``[i, j]`` (``base``'s lines i to j - 1)
    or a string (new lines), to be joined with newlines. A change touches a few lines of the
    ~50 KB, and copying those 50 KB once per viewer was most of a panels frame's cost. The
    whole ``full`` frame when the delta would not be much smaller."""
    old, new = base[1].split("\n"), html.split("\n")
    parts: list[list[int] | str] = []
    # difflib's "junk" heuristic (lines as common as "</td></tr>" do not start a match) took
    # a delta of the ~540 lines from ~3.5 to ~0.5 ms with the same parts; any parts rebuild
    # ``html`` exactly, and a delta that came out large is sent whole below.
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=True)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append([i1, i2])
        elif j2 > j1:
            parts.append("\n".join(new[j1:j2]))
    delta = json.dumps({"type": "panels", "seq": seq, "base": base[0], "parts": parts})
    return delta if len(delta) < len(full) // 2 else full


def _until_next_minute() -> float:
    now = timezone.now()
    return 60 - now.second - now.microsecond / 1e6 + MINUTE_OFFSET


def _refresh(variant: Variant) -> None:
    panels.render(variant, panels.stamp(variant.verifies()), counted=False)


def _current(
    variant: Variant, roles: frozenset[str], user_id: int, readers: frozenset[int]
) -> Variant:
    """A viewer's variant, with its roles and its reading of restricted incidents as they are
    now."""
    member = user_id if user_id in readers else None
    if (variant.roles, variant.member) != (roles, member):
        return replace(variant, roles=roles, member=member)
    return variant


def _prepare(
    viewers: set[tuple[Variant, frozenset[str], int]], known: Readers | None
) -> tuple[Stamp, Readers, dict[Variant, Found]]:
    """A push's reads in one trip to the thread (a trip waits for the event loop and for
    whatever else this process's one database thread runs: several ms each under load). From
    the viewers' variants, roles and user ids: the log's stamp, which of them read restricted
    incidents (``known`` as the push before saw it, checked in the stamp's query:
    ``panels.stamp_and_readers``), and each variant's HTML as ``sharing.shared`` starts it
    (``sharing.Found``). The first variant this process holds is rendered here; any others in
    trips of their own, so that the first goes out without waiting for them."""
    ids = {user_id for _, roles, user_id in viewers if ADMIN not in roles}
    # Whether any variant verifies: asked of each variant once (it builds a stand-in reader),
    # not of each of a thousand viewers.
    verifies = any(variant.verifies() for variant in {v for v, _, _ in viewers})
    at, readers = panels.stamp_and_readers(verifies, ids, known)
    found: dict[Variant, Found] = {}
    rendered = False
    for variant, roles, user_id in viewers:
        now = _current(variant, roles, user_id, readers.found)
        if now not in found:
            found[now] = panels.cached_or_claim(now, at, fresh=True)
            if found[now] is True and not rendered:
                rendered = True
                try:
                    found[now] = Fresh(panels.render_and_share(now, at))
                except Exception as exc:  # that variant's panels fail; the others go on
                    found[now] = exc
    return at, readers, found


_boards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Board] = weakref.WeakKeyDictionary()


def board() -> Board:
    loop = asyncio.get_running_loop()
    if loop not in _boards:
        _boards[loop] = Board()
    return _boards[loop]


def _language(scope: dict[str, Any]) -> str:
    """The page's language, which it names in the socket's address (``?lang=``)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    wanted = (query.get("lang") or [""])[0]
    return wanted if wanted in {code for code, _ in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _variant(user_id: int, roles: frozenset[str], language: str) -> tuple[Variant, Stamp]:
    variant = panels.variant_of(user_id, roles, language, panels.time_zone_of(user_id))
    return variant, panels.stamp(variant.verifies())


class DashboardConsumer(EventStreamConsumer):
    """The events of every visible incident, then ``panels`` frames: one after ``hello`` and
    one after each change, each change's event frames sent with its panels as one ``batch``
    frame (docs/live-stream.md)."""

    variant: Variant | None = None
    sent: Variant | None = None  # the variant of the last panels sent, and their seq
    panels_seq = -1
    shown: tuple[int, str] | None = None  # their seq and HTML: what a delta builds on

    async def connect(self) -> None:
        self.waiting: list[str] = []  # event frames waiting for their change's panels
        await super().connect()
        if not getattr(self, "joined", False):
            return
        language = _language(self.scope)
        self.variant, at = await database_sync_to_async(_variant)(
            self.user_id, self.roles, language
        )
        if not self.joined:  # left while its variant was read
            return
        board().watch(self)
        try:
            html = await board().html(self.variant, at)
        except Exception:  # the page's own panels stay; the next change brings fresh ones
            log.exception("dashboard panels: rendering failed")
            return
        await self.send_panels(self.variant, at.seq, panels_frame(at.seq, html), html)

    def _detach(self) -> None:
        board().unwatch(self)
        super()._detach()

    async def _forward(self, text: str) -> None:
        if self not in board().viewers:  # before its first panels: no push would carry it
            await self._deliver(text)
            return
        self.waiting.append(text)
        board().hold()

    async def send_waiting(self) -> None:
        frames, self.waiting = self.waiting, []
        if self.joined and frames:
            await self._deliver(together(frames))

    async def stream_event(self, message: dict[str, Any]) -> None:
        await super().stream_event(message)
        if self.joined and board().changed(message["seq"]):
            await asyncio.sleep(0)  # the push starts its reads now (Board.changed)

    async def heartbeat(self, seq: int) -> None:
        await super().heartbeat(seq)
        if self.joined and seq > self.panels_seq:  # an event was not broadcast
            board().changed(seq)

    async def reauthorise(self, refusal: int | None, roles: frozenset[str]) -> None:
        before = self.roles
        await super().reauthorise(refusal, roles)
        if self.joined and roles != before:  # another variant from now on
            board().changed()

    async def send_panels(self, variant: Variant, seq: int, frame: str, html: str) -> None:
        """Newer panels than the client was sent, or the same seq for its new variant (its
        roles changed); never older ones (a render that lost a race). ``frame`` is ``html``
        whole, or as a delta from ``self.shown`` (chosen just before, with no await between).
        The event frames waiting for these panels go first, in the same frame."""
        if not self.joined:
            return
        fresh = seq > self.panels_seq or (seq == self.panels_seq and variant != self.sent)
        frames, self.waiting = self.waiting, []
        if fresh:
            self.panels_seq, self.sent, self.shown = seq, variant, (seq, html)
            frames.append(frame)
        if frames:
            await self._deliver(together(frames))


websocket_urlpatterns = [re_path(r"^ws/dashboard/$", DashboardConsumer.as_asgi())]
