"""The dashboard's socket (/ws/dashboard/): the event stream plus the panels, rendered once per
variant and change however many dashboards watch, and never a restricted incident to a reader
who may not see it (frontend/live.py, frontend/panels.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache

from core.roles import roles_of
from frontend import panels
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import LogHead
from incidents.need_to_know import change_restriction
from tests.conftest import make_user
from tests.stream.test_websocket_stream import hello

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/dashboard/?lang=en"


async def head() -> int:
    return await database_sync_to_async(LogHead.objects.latest_seq)()


# Per socket, the lines of the last panels it sent: what its next delta builds on (live.js).
_received: dict[int, tuple[int, list[str]]] = {}


def whole(communicator: Any, frame: dict[str, Any]) -> dict[str, Any]:
    """A panels frame with its whole ``html``, rebuilt from a delta as live.js does."""
    if "parts" in frame:
        seq, lines = _received[id(communicator)]
        assert frame["base"] == seq and "html" not in frame
        new: list[str] = []
        for part in frame["parts"]:
            new += part.split("\n") if isinstance(part, str) else lines[part[0] : part[1]]
        frame = {**frame, "html": "\n".join(new)}
    _received[id(communicator)] = (frame["seq"], frame["html"].split("\n"))
    return frame


async def watching(ws: Any, role: str) -> tuple[Any, dict[str, Any]]:
    """A connected dashboard socket and its first panels frame (which follows hello)."""
    communicator = await ws(role, path=PATH)
    seq = await hello(communicator)
    first = await communicator.receive_json_from(timeout=10)  # the first render is cold
    assert first["type"] == "panels" and first["seq"] == seq and "html" in first
    return communicator, whole(communicator, first)


# Per socket, the frames of a batch not yet handed out.
_unread: dict[int, list[dict[str, Any]]] = {}


async def next_frame(communicator: Any, timeout: float = 3) -> dict[str, Any]:
    """The next frame, a ``batch`` frame's parts one by one (as live.js reads them)."""
    unread = _unread.setdefault(id(communicator), [])
    if not unread:
        message = await communicator.receive_json_from(timeout=timeout)
        unread += message["frames"] if message["type"] == "batch" else [message]
    return unread.pop(0)


async def panels_after(communicator: Any, seq: int) -> dict[str, Any]:
    """The first panels frame at ``seq`` or later (event frames come first), made whole."""
    while True:
        message = await next_frame(communicator)
        if message["type"] == "panels":
            message = whole(communicator, message)
            if message["seq"] >= seq:
                return message


async def test_panels_follow_hello_in_the_pages_language(ws, incident_in):
    await database_sync_to_async(incident_in)("scoping", title="Leaked backup")
    communicator, first = await watching(ws, "executive")
    assert first["html"].startswith(f'<div id="panels" data-seq="{first["seq"]}">')
    assert "Open incidents" in first["html"] and "Leaked backup" in first["html"]
    await communicator.disconnect()


async def test_one_change_many_viewers_of_one_variant_cost_one_render(ws, incident_in, users):
    incident = await database_sync_to_async(incident_in)("detected", title="Storm")
    viewers = [(await watching(ws, "executive"))[0] for _ in range(5)]
    before = panels.render_count()

    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    seq = await head()
    frames = [await panels_after(viewer, seq) for viewer in viewers]
    assert panels.render_count() - before == 1
    assert len({frame["html"] for frame in frames}) == 1
    assert {frame["seq"] for frame in frames} == {seq}
    assert 'class="pill s-scoping"' in frames[0]["html"]
    for viewer in viewers:
        assert await viewer.receive_nothing(timeout=0.3)  # one frame per change, no timer
        await viewer.disconnect()


async def test_one_change_reads_the_log_once_however_many_viewers(
    ws, incident_in, users, monkeypatch
):
    """Each viewer hands the change to the process's board; the push that starts with the
    first reads the log's head, who reads restricted incidents and the HTML in one trip to the
    thread, once, not again for the viewers the hub hands the change to while it reads."""
    from frontend import live

    incident = await database_sync_to_async(incident_in)("detected", title="Storm")
    viewers = [(await watching(ws, "executive"))[0] for _ in range(4)]
    trips: list[Any] = []
    prepare = live._prepare

    def counted(seen: Any, known: Any) -> Any:
        trips.append(seen)
        return prepare(seen, known)

    monkeypatch.setattr(live, "_prepare", counted)
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    seq = await head()
    for viewer in viewers:
        assert (await panels_after(viewer, seq))["seq"] == seq
    for viewer in viewers:
        assert await viewer.receive_nothing(timeout=0.3)
        await viewer.disconnect()
    assert len(trips) == 1 and len(trips[0]) == 1  # the four share a user and a variant


async def test_panels_frames_travel_in_ascii_in_persian_too(ws, incident_in):
    """daphne encodes each frame to UTF-8 once per viewer: ~2 µs for an ASCII string of 50 KB,
    ~100 µs when a single character outside ASCII widens it (frontend.live.panels_frame)."""
    await database_sync_to_async(incident_in)("scoping", title="نشت پشتیبان")
    communicator = await ws("executive", path="/ws/dashboard/?lang=fa")
    await hello(communicator)
    text = await communicator.receive_from(timeout=10)
    assert text.isascii()
    frame = json.loads(text)
    assert frame["type"] == "panels" and "نشت پشتیبان" in frame["html"]
    await communicator.disconnect()


async def test_a_burst_of_changes_ends_with_panels_of_its_last_change(ws, incident_in, users):
    """Events that arrive while a push runs are served by one more push, not one each."""
    incidents = [await database_sync_to_async(incident_in)("detected") for _ in range(4)]
    communicator, _ = await watching(ws, "executive")
    before = panels.render_count()

    def burst() -> None:
        for incident in incidents:
            apply_transition(incident, "start_scoping", actor=users["engineer"])

    await database_sync_to_async(burst)()
    last = await head()
    frame = await panels_after(communicator, last)
    assert frame["seq"] == last
    assert frame["html"].count('class="pill s-scoping"') >= len(incidents)
    assert 1 <= panels.render_count() - before <= 2
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_after_the_first_panels_a_change_sends_only_the_lines_it_changed(
    ws, incident_in, users
):
    incident = await database_sync_to_async(incident_in)("detected", title="Small change")
    communicator, first = await watching(ws, "executive")
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    seq = await head()
    raw = await communicator.receive_from(timeout=3)  # the change's event and its panels
    event, delta = json.loads(raw)["frames"]
    assert event["type"] == "event" and delta["type"] == "panels"
    assert delta["seq"] == seq and delta["base"] == first["seq"] and "html" not in delta
    assert len(raw) < len(json.dumps(first)) / 2
    # A viewer who connects now gets the same panels whole.
    late, whole_now = await watching(ws, "executive")
    assert whole_now["seq"] == seq
    assert whole(communicator, delta)["html"] == whole_now["html"]
    for viewer in (communicator, late):
        await viewer.disconnect()


async def test_a_changes_event_frames_travel_with_its_panels_in_one_frame(ws, incident_in, users):
    """One send per viewer and change: the event frames first, then the panels that reflect
    them, as one ``batch`` frame in ASCII."""
    incident = await database_sync_to_async(incident_in)("detected", title="نشت")
    communicator, _ = await watching(ws, "executive")
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    seq = await head()
    text = await communicator.receive_from(timeout=3)
    assert text.isascii()
    batch = json.loads(text)
    assert batch["type"] == "batch"
    assert [(f["type"], f["seq"]) for f in batch["frames"]] == [("event", seq), ("panels", seq)]
    assert batch["frames"][0]["incident"]["state"] == "scoping"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_event_frames_do_not_wait_for_panels_that_fail(ws, incident_in, users, monkeypatch):
    """A failed render costs the panels of that change, never its events."""
    incident = await database_sync_to_async(incident_in)("detected")
    communicator, _ = await watching(ws, "executive")

    def broken(variant: Any, at: Any) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(panels, "render", broken)
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    frame = await communicator.receive_json_from(timeout=3)
    assert frame["type"] == "event" and frame["seq"] == await head()
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_event_frames_wait_for_their_panels_at_most_a_bound(ws, incident_in, users):
    """A render held by another process that never shares it: the event goes alone after
    EVENT_WAIT_SECONDS, the panels follow when this process renders them itself."""
    from frontend import live

    incident = await database_sync_to_async(incident_in)("detected")
    communicator, _ = await watching(ws, "executive")

    def transition_while_another_process_renders() -> int:
        apply_transition(incident, "start_scoping", actor=users["engineer"])
        user = users["executive"]
        variant = panels.variant_of(user.pk, roles_of(user), "en", panels.time_zone_of(user.pk))
        at = panels.stamp(variant.verifies())
        panels.cached_or_claim(variant, at)  # taken before this process asks
        return at.seq

    started = asyncio.get_running_loop().time()
    seq = await database_sync_to_async(transition_while_another_process_renders)()
    frame = await communicator.receive_json_from(timeout=3)
    waited = asyncio.get_running_loop().time() - started
    assert frame["type"] == "event" and frame["seq"] == seq
    assert live.EVENT_WAIT_SECONDS * 0.8 <= waited < panels.WAIT_SECONDS
    later = await communicator.receive_json_from(timeout=panels.WAIT_SECONDS + 3)
    assert later["type"] == "panels" and later["seq"] == seq
    await communicator.disconnect()


async def test_two_variants_cost_two_renders(ws, incident_in, users):
    incident = await database_sync_to_async(incident_in)("detected")
    viewers = [(await watching(ws, role))[0] for role in ("executive", "executive", "legal")]
    before = panels.render_count()
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    frames = [await panels_after(viewer, await head()) for viewer in viewers]
    assert panels.render_count() - before == 2
    assert frames[0]["html"] == frames[1]["html"]
    assert 'id="record-verification"' in frames[2]["html"]  # legal's variant verifies
    assert 'id="record-verification"' not in frames[0]["html"]
    for viewer in viewers:
        await viewer.disconnect()


def _restricted(users: dict[str, Any], incident_in: Any) -> Any:
    users["commander"] = make_user("commander", "engineer")
    secret = incident_in("detected", title="Insider exfiltration")
    secret, _ = update_incident(
        secret, actor=users["admin"], changes={"commander": users["commander"]}
    )
    secret, _ = change_restriction(secret, actor=users["commander"], restricted=True)
    return secret


async def test_restricted_incidents_reach_only_readers_who_may_see_them(ws, incident_in, users):
    secret = await database_sync_to_async(_restricted)(users, incident_in)
    public = await database_sync_to_async(incident_in)("detected", title="Phishing wave")
    viewers = {role: (await watching(ws, role))[0] for role in ("admin", "engineer", "commander")}

    await database_sync_to_async(apply_transition)(public, "start_scoping", actor=users["engineer"])
    seq = await head()
    html = {role: (await panels_after(viewer, seq))["html"] for role, viewer in viewers.items()}
    for role in ("admin", "commander"):
        assert "Insider exfiltration" in html[role] and secret.reference in html[role]
    assert "Insider exfiltration" not in html["engineer"]
    assert secret.reference not in html["engineer"]
    assert 'id="open-hidden"' in html["engineer"]  # counted, not named
    assert html["commander"] != html["engineer"]  # the commander's variant is their own
    for viewer in viewers.values():
        await viewer.disconnect()


async def test_a_reader_made_a_member_while_watching_gets_their_own_variant(ws, incident_in, users):
    """Who reads restricted incidents is kept between pushes (frontend.panels.stamp_and_readers):
    the event that adds a member makes the next push read it again."""
    secret = await database_sync_to_async(_restricted)(users, incident_in)
    public = await database_sync_to_async(incident_in)("detected", title="Phishing wave")
    viewer, first = await watching(ws, "engineer")
    assert "Insider exfiltration" not in first["html"]
    await database_sync_to_async(apply_transition)(public, "start_scoping", actor=users["engineer"])
    before = (await panels_after(viewer, await head()))["html"]
    assert "Insider exfiltration" not in before
    await database_sync_to_async(change_restriction)(
        secret, actor=users["commander"], members=["engineer"]
    )
    after = (await panels_after(viewer, await head()))["html"]
    assert "Insider exfiltration" in after and secret.reference in after
    await viewer.disconnect()


def _claim_as_another_process(users: dict[str, Any]) -> tuple[Any, Any]:
    user = users["executive"]
    variant = panels.variant_of(user.pk, roles_of(user), "en", panels.time_zone_of(user.pk))
    at = panels.stamp(variant.verifies())
    assert panels.cached_or_claim(variant, at) is True  # that process's lock
    return variant, at


async def _shared_elsewhere(ws: Any, variant: Any, at: Any) -> tuple[Any, str]:
    """A viewer whose panels another process renders: it waits, then gets that HTML."""
    communicator = await ws("executive", path=PATH)
    await hello(communicator)
    await asyncio.sleep(0.2)  # this process is now waiting for the other's render
    shared = f'<div id="panels" data-seq="{at.seq}">rendered elsewhere</div>'
    key = panels.cache_key(variant, at)
    await database_sync_to_async(cache.set)(key, shared, 60)
    return communicator, shared


async def test_a_render_another_process_holds_is_awaited_not_repeated(
    ws, incident_in, users, monkeypatch
):
    await database_sync_to_async(incident_in)("scoping")
    variant, at = await database_sync_to_async(_claim_as_another_process)(users)
    monkeypatch.setattr(panels, "_rendered", {variant})  # this process holds its fragments
    before = panels.render_count()
    communicator, shared = await _shared_elsewhere(ws, variant, at)
    frame = await next_frame(communicator)
    assert frame == {"type": "panels", "seq": at.seq, "html": shared}
    await asyncio.sleep(0.3)
    assert panels.render_count() == before
    await communicator.disconnect()


async def test_a_process_renders_once_a_variant_it_took_from_another(
    ws, incident_in, users, monkeypatch
):
    """Its kept fragments are its own: it renders the variant once in the background (not
    shared, not sent, not counted), so that its first render after a change is not a cold
    one."""
    await database_sync_to_async(incident_in)("scoping")
    variant, at = await database_sync_to_async(_claim_as_another_process)(users)
    monkeypatch.setattr(panels, "_rendered", set())
    rendered: list[Any] = []
    real = panels.render

    def recorded(*args: Any, **kwargs: Any) -> str:
        rendered.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(panels, "render", recorded)
    before = panels.render_count()
    communicator, shared = await _shared_elsewhere(ws, variant, at)
    assert await next_frame(communicator) == {"type": "panels", "seq": at.seq, "html": shared}
    for _ in range(100):
        if panels.rendered_here(variant):
            break
        await asyncio.sleep(0.05)
    assert panels.rendered_here(variant)
    await asyncio.sleep(0.3)
    assert panels.render_count() == before
    assert await database_sync_to_async(cache.get)(panels.cache_key(variant, at)) == shared
    second = await ws("executive", path=PATH)  # another viewer of the variant: no more
    await hello(second)
    assert (await next_frame(second))["html"] == shared
    await asyncio.sleep(0.3)
    assert panels.render_count() == before and len(rendered) == 1
    assert await communicator.receive_nothing(timeout=0.2)
    for viewer in (communicator, second):
        await viewer.disconnect()


async def test_each_minute_the_watched_variants_are_rendered_once_unsent(
    ws, incident_in, users, monkeypatch
):
    """What the panels keep for a minute is read just after it begins, by one render per
    variant and process (uncounted, not sent), not by the minute's first change."""
    from frontend import live

    await database_sync_to_async(incident_in)("scoping")
    refreshed: list[Any] = []
    real = live._refresh

    def recorded(variant: Any) -> None:
        refreshed.append(variant)
        real(variant)

    monkeypatch.setattr(live, "_refresh", recorded)
    monkeypatch.setattr(live, "_until_next_minute", lambda: 0.3)
    viewers = [(await watching(ws, "executive"))[0] for _ in range(3)]
    before = panels.render_count()
    for _ in range(40):
        if refreshed:
            break
        await asyncio.sleep(0.05)
    variants = {viewer.variant for viewer in live.board().viewers}
    assert len(variants) == 1 and refreshed == list(variants)  # three viewers, one render
    assert panels.render_count() == before
    for viewer in viewers:
        assert await viewer.receive_nothing(timeout=0.1)
        await viewer.disconnect()
    await asyncio.sleep(0.1)
    assert live.board().ticking is None  # no viewer left here: no more refreshes


async def test_the_events_route_sends_no_panels(ws, incident_in, users):
    incident = await database_sync_to_async(incident_in)("detected")
    communicator = await ws("executive")
    await hello(communicator)
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    assert (await communicator.receive_json_from(timeout=2))["type"] == "event"
    assert await communicator.receive_nothing(timeout=0.4)
    await communicator.disconnect()


async def test_a_role_changed_mid_connection_gets_the_panels_of_its_new_variant(ws, users):
    from django.contrib.auth.models import Group

    communicator, first = await watching(ws, "legal")
    assert 'id="record-verification"' in first["html"]

    def move_to_executives() -> None:
        users["legal"].groups.set([Group.objects.get(name="executive")])  # announced at once

    await database_sync_to_async(move_to_executives)()
    frame = await panels_after(communicator, first["seq"])
    assert frame["seq"] == first["seq"]  # nothing changed in the log: only the variant
    assert 'id="record-verification"' not in frame["html"]
    await communicator.disconnect()
