"""Need to know on the live stream: frames of a restricted incident reach only its members, its
commander and admins; a non-member cannot watch it; a member taken off stops hearing it."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from incidents.lifecycle import apply_transition, update_incident
from incidents.need_to_know import change_restriction
from incidents.stream.consumers import CLOSE_UNKNOWN_INCIDENT
from tests.conftest import make_user
from tests.stream.test_websocket_stream import closed_with, hello

pytestmark = pytest.mark.django_db(transaction=True)

SEES = ("admin", "commander", "member")
BLIND = ("engineer", "legal", "executive")


def _restricted(users: dict[str, Any], incident_in: Any) -> tuple[Any, Any]:
    users["commander"] = make_user("commander", "engineer")
    users["member"] = make_user("member", "executive")
    secret = incident_in("detected", title="Insider")
    secret, _ = update_incident(
        secret, actor=users["admin"], changes={"commander": users["commander"]}
    )
    secret, _ = change_restriction(
        secret, actor=users["commander"], restricted=True, members=["member"]
    )
    public = incident_in("detected", title="Public")
    return secret, public


async def _frames(watcher: Any) -> list[str]:
    """References of the event frames that arrive before the stream goes quiet."""
    got = []
    while not await watcher.receive_nothing(timeout=0.4):
        message = await watcher.receive_json_from(timeout=1)
        if message["type"] == "event":
            got.append(message["incident"]["reference"])
    return got


async def test_frames_of_a_restricted_incident_reach_only_its_audience(ws, users, incident_in):
    secret, public = await database_sync_to_async(_restricted)(users, incident_in)
    watchers = {role: await ws(role) for role in SEES + BLIND}
    for watcher in watchers.values():
        await hello(watcher)

    def drive() -> None:
        apply_transition(secret, "start_scoping", actor=users["commander"])
        apply_transition(public, "start_scoping", actor=users["engineer"])

    await database_sync_to_async(drive)()
    for role, watcher in watchers.items():
        expected = [secret.reference, public.reference] if role in SEES else [public.reference]
        assert await _frames(watcher) == expected, role
        await watcher.disconnect()


@pytest.mark.parametrize("role", BLIND)
async def test_non_member_cannot_watch_a_restricted_incident(ws, users, incident_in, role):
    secret, _public = await database_sync_to_async(_restricted)(users, incident_in)
    watcher = await ws(role, path=f"/ws/incidents/{secret.reference}/")
    assert await closed_with(watcher) == CLOSE_UNKNOWN_INCIDENT


async def test_member_taken_off_stops_hearing_and_one_added_starts(ws, users, incident_in):
    secret, _public = await database_sync_to_async(_restricted)(users, incident_in)
    member, legal = await ws("member"), await ws("legal")
    await hello(member)
    await hello(legal)

    def swap() -> None:
        change_restriction(secret, actor=users["commander"], members=["legal"])
        apply_transition(secret, "start_scoping", actor=users["commander"])

    await database_sync_to_async(swap)()
    # The change itself is for its new audience: legal hears both events, member neither.
    assert await _frames(legal) == [secret.reference, secret.reference, secret.reference]
    assert await _frames(member) == []
    await member.disconnect()
    await legal.disconnect()
