"""One render of a variant's panels per change across the web processes (frontend/live.py's
boards; the cache's side is in frontend/panels.py: ``cached_or_claim``, ``render_and_share``).

The process that claims a render renders it, shares it in the cache and announces it through
the channel layer; the others take it from the announcement, or from the cache when none
came (a message lost while Redis was away), and after ``panels.WAIT_SECONDS`` without it
render it themselves (the claiming process may have died). They used to look in the cache
every 5 ms, each look a trip to the process's one database thread, which under load waits: the
HTML reached them 0-10 ms after it was shared, and their viewers were a change's slowest
(bench/README.md, "Dashboard viewers").
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from frontend import panels
from frontend.panels import Stamp, Variant

log = logging.getLogger("breach_desk.panels")

GROUP = "dashboard-panels"
TYPE = "dashboard.panels"
# How often a process waiting for another's render looks in the cache itself (the
# announcement, not this, is what it normally takes).
LOOK_SECONDS = 0.02
# Longest an announcement is sent for (Redis away must not hold up the local viewers).
ANNOUNCE_SECONDS = 0.2


@dataclass(frozen=True)
class Fresh:
    """HTML this process rendered and shared just now: the others are told."""

    html: str


# A variant's HTML as a push found it: shared by another process (the HTML), rendered here
# (Fresh), True (this process holds its render), False (another process does), or the error
# its render raised here.
Found = str | Fresh | bool | Exception


class Announcements:
    """The renders other processes announced, by cache key, kept while one may still be
    awaited here: one can arrive before this process learns that it needs it. Each process's
    board holds one (frontend/live.py), listening while it has viewers."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)  # this process's own announcements come back too
        self.arrived: dict[str, asyncio.Future[str]] = {}
        self.listening: asyncio.Task | None = None

    def start(self) -> None:
        if self.listening is None:
            self.listening = asyncio.ensure_future(self._listen())

    def stop(self) -> None:
        if self.listening is not None:
            self.listening.cancel()
            self.listening = None

    def expect(self, key: str) -> asyncio.Future[str]:
        """The HTML announced under ``key``, when it comes (forgotten after a bound)."""
        if key not in self.arrived:
            loop = asyncio.get_running_loop()
            self.arrived[key] = loop.create_future()
            loop.call_later(panels.WAIT_SECONDS + 1, self.arrived.pop, key, None)
        return self.arrived[key]

    async def _listen(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        channel = None
        try:
            while True:
                try:
                    if channel is None:
                        channel = await layer.new_channel()
                        await layer.group_add(GROUP, channel)
                    message = await layer.receive(channel)
                except Exception:  # keep listening; meanwhile the cache serves (LOOK_SECONDS)
                    log.exception("dashboard panels: receiving announcements failed")
                    await asyncio.sleep(1)
                    continue
                if message.get("type") == TYPE and message.get("from") != self.token:
                    arrived = self.expect(message["key"])
                    if not arrived.done():
                        arrived.set_result(message["html"])
        finally:
            if channel is not None:
                try:
                    await layer.group_discard(GROUP, channel)
                except Exception:
                    log.warning("dashboard panels: leaving the announcements' group failed")


async def announce(variant: Variant, at: Stamp, html: str, heard: Announcements) -> None:
    """Tell the other processes the HTML this one shared (``heard``: this process's
    announcements, whose token marks its own); awaited before this process sends it to its own
    viewers, whose sends take the event loop for milliseconds."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {
        "type": TYPE,
        "key": panels.cache_key(variant, at),
        "html": html,
        "from": heard.token,
    }
    try:
        await asyncio.wait_for(layer.group_send(GROUP, message), ANNOUNCE_SECONDS)
    except Exception as exc:  # the others find it in the cache
        log.warning("dashboard panels: announcing a render failed (%s)", exc)


async def shared(
    variant: Variant, at: Stamp, heard: Announcements, found: Found | None = None
) -> str:
    """The variant's HTML as of ``at``, rendered once across processes: the cache's copy, else
    this process renders it (holding the cache's lock) and announces it, else it awaits the
    one that does (``heard``: this process's announcements, the board's) for a bounded time.
    ``found``: what ``panels.cached_or_claim`` answered (or the render it started), if it was
    asked already. ``panels.shared_now`` for the event loop: it waits here, not in the one
    thread every database call of this process goes through."""
    if found is None:
        found = await database_sync_to_async(panels.cached_or_claim)(variant, at)
    if isinstance(found, Exception):
        raise found
    if isinstance(found, str):
        return found
    if found is False:
        html = await _rendered_elsewhere(variant, at, heard)
        if html is not None:
            return html
        log.warning("dashboard panels: no shared render in %ss; rendering it", panels.WAIT_SECONDS)
    if not isinstance(found, Fresh):
        found = Fresh(await database_sync_to_async(panels.render_and_share)(variant, at))
    await announce(variant, at, found.html, heard)
    return found.html


async def _rendered_elsewhere(variant: Variant, at: Stamp, heard: Announcements) -> str | None:
    """Another process's render of the variant: announced, or found in the cache (looked at
    every LOOK_SECONDS); None after panels.WAIT_SECONDS without it."""
    arrived = heard.expect(panels.cache_key(variant, at))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + panels.WAIT_SECONDS
    while loop.time() < deadline:
        try:
            return await asyncio.wait_for(asyncio.shield(arrived), LOOK_SECONDS)
        except TimeoutError:
            pass
        html: Any = await database_sync_to_async(panels.cached)(variant, at)
        if html is not None:
            return html
    return None
