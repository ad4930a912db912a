"""One render per variant and change across processes (frontend/sharing.py): the process that
renders announces it through the channel layer, the others send the announced HTML; and one
more push only for an event past the head a push read (frontend/live.py, ``Board.changed``;
one push per change however many viewers: tests/stream/test_dashboard_panels.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from frontend import live, panels, sharing
from tests.stream.test_dashboard_panels import (
    PATH,
    _claim_as_another_process,
    next_frame,
    watching,
)
from tests.stream.test_websocket_stream import hello

pytestmark = pytest.mark.django_db(transaction=True)


def _announced(key: str, html: str) -> dict[str, Any]:
    return {"type": sharing.TYPE, "key": key, "html": html, "from": "another process"}


async def test_a_render_another_process_announces_is_sent_without_the_cache(
    ws, incident_in, users, monkeypatch
):
    """The other process never shares it in the cache here: the HTML the viewer gets can only
    come from the announcement."""
    await database_sync_to_async(incident_in)("scoping")
    variant, at = await database_sync_to_async(_claim_as_another_process)(users)
    monkeypatch.setattr(panels, "_rendered", {variant})  # no background warm-up render
    before = panels.render_count()
    communicator = await ws("executive", path=PATH)
    await hello(communicator)
    await asyncio.sleep(0.2)  # this process now awaits the other's render
    html = f'<div id="panels" data-seq="{at.seq}">announced</div>'
    layer = get_channel_layer()
    await layer.group_send(sharing.GROUP, _announced(panels.cache_key(variant, at), html))
    assert await next_frame(communicator) == {"type": "panels", "seq": at.seq, "html": html}
    assert panels.render_count() == before
    assert await database_sync_to_async(panels.cached)(variant, at) is None
    await communicator.disconnect()


async def test_an_announcement_that_comes_before_it_is_awaited_is_kept(ws, incident_in, users):
    """Another process can render and announce before this one learns that it needs the
    render (its own trip to the database thread was slower)."""
    await database_sync_to_async(incident_in)("scoping")
    variant, at = await database_sync_to_async(_claim_as_another_process)(users)
    live.board().announcements.start()
    await asyncio.sleep(0.1)  # subscribed
    html = f'<div id="panels" data-seq="{at.seq}">announced early</div>'
    layer = get_channel_layer()
    await layer.group_send(sharing.GROUP, _announced(panels.cache_key(variant, at), html))
    await asyncio.sleep(0.1)
    communicator = await ws("executive", path=PATH)
    await hello(communicator)
    assert await next_frame(communicator) == {"type": "panels", "seq": at.seq, "html": html}
    await communicator.disconnect()
    live.board().announcements.stop()


async def test_the_process_that_renders_announces_its_render(ws, incident_in, users):
    await database_sync_to_async(incident_in)("detected")
    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(sharing.GROUP, listener)
    communicator, first = await watching(ws, "executive")
    message = await asyncio.wait_for(layer.receive(listener), 3)
    variant = next(iter(live.board().viewers)).variant
    at = await database_sync_to_async(panels.stamp)(variant.verifies())
    assert message == {
        "type": sharing.TYPE,
        "key": panels.cache_key(variant, at),
        "html": first["html"],
        "from": live.board().announcements.token,
    }
    await layer.group_discard(sharing.GROUP, listener)
    await communicator.disconnect()


async def test_an_event_past_a_pushs_panels_gets_one_more_push(ws, incident_in, users, monkeypatch):
    """An event that reaches the process while a push reads, past the head it read, is served
    by one more push; that one covers it, and none follows."""
    await database_sync_to_async(incident_in)("detected")
    viewer, _ = await watching(ws, "executive")
    board = live.board()
    trips: list[int] = []
    real = live._prepare

    def counted(*args: Any) -> Any:
        trips.append(1)
        prepared = real(*args)
        if len(trips) == 1:  # an event the head this push read does not cover
            loop.call_soon_threadsafe(board.changed, prepared[0].seq + 1)
        return prepared

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(live, "_prepare", counted)
    board.changed(None)  # as a viewer's new roles do
    await asyncio.sleep(0.5)
    assert len(trips) == 2 and not board.pushing
    await viewer.disconnect()


def test_a_shared_render_is_found_by_a_claim_and_a_failed_one_frees_it(users, monkeypatch):
    user = users["executive"]
    variant = panels.variant_of(user.pk, frozenset({"executive"}), "en", "UTC")
    at = panels.stamp(False)
    assert panels.cached_or_claim(variant, at, fresh=True) is True
    assert panels.cached_or_claim(variant, at, fresh=True) is False  # held, not shared yet
    html = panels.render_and_share(variant, at)
    assert panels.cached_or_claim(variant, at, fresh=True) == html
    assert panels.cached_or_claim(variant, at) == html

    def failing(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(panels, "render", failing)
    other = panels.variant_of(user.pk, frozenset({"executive"}), "fa", "UTC")
    assert panels.cached_or_claim(other, at, fresh=True) is True
    with pytest.raises(RuntimeError):
        panels.render_and_share(other, at)
    assert panels.cached_or_claim(other, at, fresh=True) is True  # another process may try
