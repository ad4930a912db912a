"""The dashboard's socket (/ws/dashboard/): the event stream plus the panels, rendered once per
variant and change however many dashboards watch, and never a restricted incident to a reader
who may not see it (frontend/live.py, frontend/panels.py)."""

from __future__ import annotations

import asyncio
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


async def watching(ws: Any, role: str) -> tuple[Any, dict[str, Any]]:
    """A connected dashboard socket and its first panels frame (which follows hello)."""
    communicator = await ws(role, path=PATH)
    seq = await hello(communicator)
    first = await communicator.receive_json_from(timeout=10)  # the first render is cold
    assert first["type"] == "panels" and first["seq"] == seq
    return communicator, first


async def panels_after(communicator: Any, seq: int) -> dict[str, Any]:
    """The first panels frame at ``seq`` or later (event frames come first)."""
    while True:
        message = await communicator.receive_json_from(timeout=3)
        if message["type"] == "panels" and message["seq"] >= seq:
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


async def test_a_render_another_process_holds_is_awaited_not_repeated(ws, incident_in, users):
    await database_sync_to_async(incident_in)("scoping")

    def claim_as_another_process() -> tuple[Any, Any]:
        user = users["executive"]
        variant = panels.variant_of(user.pk, roles_of(user), "en", panels.time_zone_of(user.pk))
        at = panels.stamp(variant.verifies())
        assert panels.cached_or_claim(variant, at) is True  # that process's lock
        return variant, at

    variant, at = await database_sync_to_async(claim_as_another_process)()
    before = panels.render_count()
    communicator = await ws("executive", path=PATH)
    await hello(communicator)
    await asyncio.sleep(0.2)  # this process is now waiting for the other's render
    shared = f'<div id="panels" data-seq="{at.seq}">rendered elsewhere</div>'
    key = panels.cache_key(variant, at)
    await database_sync_to_async(cache.set)(key, shared, 60)
    frame = await communicator.receive_json_from(timeout=3)
    assert frame == {"type": "panels", "seq": at.seq, "html": shared}
    assert panels.render_count() == before
    await communicator.disconnect()


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
