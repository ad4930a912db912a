"""The live stream over the real ASGI stack: who may connect, what they receive, in what order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.test import Client

from incidents.lifecycle import apply_transition, update_incident
from incidents.models import LogHead
from incidents.stream import push as stream
from incidents.stream.consumers import (
    BEAT_GRACE_SECONDS,
    CLOSE_NO_ROLE,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNKNOWN_INCIDENT,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_with(communicator: Any) -> int:
    connected, _ = await communicator.connect()
    assert connected  # accepted first, so that the client learns the reason
    message = await communicator.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    await communicator.wait()
    return message["code"]


async def hello(communicator: Any) -> int:
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_json_from(timeout=2)
    assert message["type"] == "hello"
    return message["seq"]


async def test_anonymous_connection_is_closed_with_4401(ws):
    assert await closed_with(await ws(None)) == CLOSE_UNAUTHENTICATED


async def test_unknown_token_is_closed_with_4401(ws):
    bad = [(b"authorization", b"Token 0123456789abcdef0123456789abcdef01234567")]
    assert await closed_with(await ws(None, headers=bad)) == CLOSE_UNAUTHENTICATED


async def test_user_without_role_is_closed_with_4403(ws):
    assert await closed_with(await ws("norole")) == CLOSE_NO_ROLE


async def test_foreign_origin_is_refused_at_the_handshake(ws):
    communicator = await ws("engineer", origin="https://evil.example")
    connected, _ = await communicator.connect()
    assert not connected


async def test_unknown_incident_is_closed_with_4404(ws):
    communicator = await ws("engineer", path="/ws/incidents/INC-2026-9999/")
    assert await closed_with(communicator) == CLOSE_UNKNOWN_INCIDENT


async def test_hello_carries_the_latest_seq(ws, incident_in):
    await database_sync_to_async(incident_in)("scoping")
    expected = await database_sync_to_async(LogHead.objects.latest_seq)()
    communicator = await ws("executive")
    assert await hello(communicator) == expected == 2
    await communicator.disconnect()


async def test_session_cookie_authenticates_a_browser(ws, users):
    def session_cookie() -> str:
        client = Client()
        client.force_login(users["legal"])
        assert client.session[SESSION_KEY] == str(users["legal"].pk)
        return client.cookies["sessionid"].value

    cookie = await database_sync_to_async(session_cookie)()
    communicator = await ws(None, headers=[(b"cookie", f"sessionid={cookie}".encode())])
    assert await hello(communicator) == 0
    await communicator.disconnect()


async def test_committed_transitions_reach_every_role_in_seq_order_with_rest_shapes(
    ws, incident_in, users
):
    incident = await database_sync_to_async(incident_in)("detected")
    watchers = [await ws(role) for role in ("executive", "engineer")]
    for watcher in watchers:
        assert await hello(watcher) == 1

    def drive() -> None:
        changed, _ = apply_transition(incident, "start_scoping", actor=users["engineer"])
        update_incident(changed, actor=users["engineer"], changes={"severity": "critical"})

    await database_sync_to_async(drive)()
    for watcher in watchers:
        first = await watcher.receive_json_from(timeout=2)
        second = await watcher.receive_json_from(timeout=2)
        assert [first["seq"], second["seq"]] == [2, 3]
        assert first["type"] == "event"
        assert first["event"]["kind"] == "start_scoping"
        assert first["event"]["to_state"] == "scoping"
        assert first["incident"]["reference"] == incident.reference
        assert first["incident"]["state"] == "scoping"
        assert second["incident"]["severity"] == "critical"
        assert second["incident"]["version"] == first["incident"]["version"] + 1
        assert set(first["event"]) >= {"seq", "incident", "kind", "actor", "created_at", "hash"}
        await watcher.disconnect()


async def test_incident_stream_forwards_only_that_incident(ws, incident_in, users):
    watched = await database_sync_to_async(incident_in)("detected")
    other = await database_sync_to_async(incident_in)("detected")
    communicator = await ws("legal", path=f"/ws/incidents/{watched.reference}/")
    await hello(communicator)
    await database_sync_to_async(apply_transition)(other, "start_scoping", actor=users["engineer"])
    await database_sync_to_async(apply_transition)(
        watched, "start_scoping", actor=users["engineer"]
    )
    message = await communicator.receive_json_from(timeout=2)
    assert message["incident"]["reference"] == watched.reference
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_rolled_back_change_sends_nothing(ws, incident_in, users):
    incident = await database_sync_to_async(incident_in)("detected")
    communicator = await ws("engineer")
    seq = await hello(communicator)

    class Abandon(Exception):
        pass

    def change_then_fail() -> None:
        with pytest.raises(Abandon), transaction.atomic():
            apply_transition(incident, "start_scoping", actor=users["engineer"])
            raise Abandon

    await database_sync_to_async(change_then_fail)()
    assert await communicator.receive_nothing(timeout=0.5)
    assert await database_sync_to_async(LogHead.objects.latest_seq)() == seq
    await communicator.disconnect()


def frame(seq: int, reference: str = "INC-2026-0001") -> dict[str, Any]:
    text = json.dumps({"type": "event", "seq": seq})
    return {"type": stream.MESSAGE_TYPE, "seq": seq, "reference": reference, "text": text}


async def test_events_published_out_of_order_are_delivered_in_seq_order(ws):
    communicator = await ws("engineer")
    assert await hello(communicator) == 0
    layer = get_channel_layer()
    for seq in (2, 3, 1):
        await layer.group_send(stream.GROUP, frame(seq))
    received = [(await communicator.receive_json_from(timeout=2))["seq"] for _ in range(3)]
    assert received == [1, 2, 3]
    await communicator.disconnect()


async def test_a_seq_that_never_arrives_is_skipped_after_the_hold(ws, settings):
    settings.STREAM_REORDER_SECONDS = 0.05
    communicator = await ws("engineer")
    await hello(communicator)
    layer = get_channel_layer()
    await layer.group_send(stream.GROUP, frame(2))
    # The client sees the gap (1 missing) and fetches it from /api/events/?after=0.
    assert (await communicator.receive_json_from(timeout=2))["seq"] == 2
    await layer.group_send(stream.GROUP, frame(1))
    await layer.group_send(stream.GROUP, frame(3))
    assert (await communicator.receive_json_from(timeout=2))["seq"] == 3
    await communicator.disconnect()


async def test_slow_client_is_dropped_while_others_keep_receiving(ws, settings, monkeypatch):
    settings.STREAM_CLIENT_QUEUE = 3
    from incidents.stream import consumers

    real_gate = consumers.TransportGate
    gates: list[Any] = []

    def gate(send: Any) -> Any:
        made = real_gate(send)
        gates.append(made)
        return made

    monkeypatch.setattr(consumers, "TransportGate", gate)
    slow, fast = await ws("engineer"), await ws("executive")
    await hello(slow)
    gates[0].pauseProducing()  # what daphne's transport does when the client stops reading
    await hello(fast)
    layer = get_channel_layer()
    for seq in range(1, 6):
        await layer.group_send(stream.GROUP, frame(seq))
    assert [(await fast.receive_json_from(timeout=2))["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
    closing = await slow.receive_output(timeout=2)
    assert closing == {"type": "websocket.close", "code": CLOSE_TOO_SLOW}
    await fast.disconnect()


async def test_paused_client_gets_its_backlog_in_order_when_it_reads_again(ws, monkeypatch):
    from incidents.stream import consumers

    real_gate = consumers.TransportGate
    gates: list[Any] = []
    monkeypatch.setattr(
        consumers, "TransportGate", lambda send: gates.append(real_gate(send)) or gates[-1]
    )
    communicator = await ws("engineer")
    await hello(communicator)
    gates[0].pauseProducing()
    layer = get_channel_layer()
    for seq in (1, 2):
        await layer.group_send(stream.GROUP, frame(seq))
    assert await communicator.receive_nothing(timeout=0.2)
    gates[0].resumeProducing()
    assert [(await communicator.receive_json_from(timeout=2))["seq"] for _ in range(2)] == [1, 2]
    await communicator.disconnect()


async def test_heartbeat_tells_a_client_about_an_event_that_was_not_broadcast(
    ws, incident_in, users, settings, monkeypatch
):
    settings.STREAM_HEARTBEAT_SECONDS = 0.1
    incident = await database_sync_to_async(incident_in)("detected")
    communicator = await ws("executive")
    assert await hello(communicator) == 1
    assert await communicator.receive_nothing(timeout=0.3)  # up to date: no heartbeat

    class RedisDown:  # the publishing side's layer only; the client's own stays up
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            raise ConnectionError("Connection refused")

    monkeypatch.setattr(stream, "get_channel_layer", lambda: RedisDown())
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    assert await communicator.receive_json_from(timeout=2) == {"type": "heartbeat", "seq": 2}
    await communicator.disconnect()


async def test_a_heartbeat_never_overtakes_an_event_on_its_way(
    ws, incident_in, users, settings, monkeypatch
):
    """A beat that reads the log's head between an event's commit and its broadcast names an
    event still on its way: announcing it would send every client to the feed for nothing (a
    thousand catch-ups at once: bench/README.md, "Dashboard viewers")."""
    settings.STREAM_HEARTBEAT_SECONDS = 0.05
    incident = await database_sync_to_async(incident_in)("detected")
    communicator = await ws("executive")
    assert await hello(communicator) == 1
    layer = get_channel_layer()
    held: list[dict[str, Any]] = []

    class Held:  # the publishing side's layer only: the broadcast is held back, then sent
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            held.append(message)

    monkeypatch.setattr(stream, "get_channel_layer", lambda: Held())
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    await asyncio.sleep(0.3)  # beats read a head newer than anything the hub has heard
    await layer.group_send(stream.GROUP, held[0])  # the broadcast arrives, late
    frame = await communicator.receive_json_from(timeout=2)
    assert (frame["type"], frame["seq"]) == ("event", 2)
    assert await communicator.receive_nothing(timeout=BEAT_GRACE_SECONDS + 0.3)
    await communicator.disconnect()


async def test_connection_is_closed_with_1011_while_the_channel_layer_is_down(ws, monkeypatch):
    from incidents.stream import consumers

    class RedisDown:
        async def new_channel(self) -> str:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(consumers, "get_channel_layer", lambda: RedisDown())
    assert await closed_with(await ws("engineer")) == consumers.CLOSE_UNAVAILABLE
    monkeypatch.undo()
    # The next client, once the layer is back, joins normally.
    communicator = await ws("engineer")
    assert await hello(communicator) == 0
    await communicator.disconnect()


# --- access that ends while a connection is open ------------------------------------------------


def session_cookie_of(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def closed_while_open(communicator: Any) -> int:
    """The code of the close the server sends to an open connection (frames before it fail)."""
    message = await communicator.receive_output(timeout=2)
    assert message["type"] == "websocket.close", message
    await communicator.wait()
    # The re-check's database thread may still be returning its connection to the pool; a call
    # queued behind it on the same thread waits for that (else PostgreSQL's test database can
    # still be in use when the run drops it).
    await database_sync_to_async(lambda: None)()
    return message["code"]


async def test_deactivating_a_user_closes_their_open_connections_with_4401(ws, users, incident_in):
    incident = await database_sync_to_async(incident_in)("detected")
    cookie = await database_sync_to_async(session_cookie_of)(users["executive"])
    by_token = await ws("executive")
    by_session = await ws(None, headers=[(b"cookie", f"sessionid={cookie}".encode())])
    bystander = await ws("legal")
    for communicator in (by_token, by_session, bystander):
        await hello(communicator)

    def deactivate() -> None:
        users["executive"].is_active = False
        users["executive"].save()

    await database_sync_to_async(deactivate)()
    assert await closed_while_open(by_token) == CLOSE_UNAUTHENTICATED
    assert await closed_while_open(by_session) == CLOSE_UNAUTHENTICATED
    # Everyone else keeps receiving.
    await database_sync_to_async(apply_transition)(
        incident, "start_scoping", actor=users["engineer"]
    )
    assert (await bystander.receive_json_from(timeout=2))["event"]["kind"] == "start_scoping"
    await bystander.disconnect()


async def test_signing_out_closes_the_browsers_open_connection_with_4401(ws, users):
    client = Client()

    def sign_in() -> str:
        client.force_login(users["legal"])
        return client.cookies["sessionid"].value

    cookie = await database_sync_to_async(sign_in)()
    communicator = await ws(None, headers=[(b"cookie", f"sessionid={cookie}".encode())])
    await hello(communicator)
    response = await database_sync_to_async(client.post)("/logout/")
    assert response.status_code == 302
    assert await closed_while_open(communicator) == CLOSE_UNAUTHENTICATED


async def test_losing_every_role_closes_with_4403_and_a_changed_role_keeps_watching(ws, users):
    from django.contrib.auth.models import Group

    demoted, moved = await ws("engineer"), await ws("executive")
    await hello(demoted)
    await hello(moved)

    def change_roles() -> None:
        users["executive"].groups.set([Group.objects.get(name="legal")])  # still a role
        users["engineer"].groups.clear()

    await database_sync_to_async(change_roles)()
    assert await closed_while_open(demoted) == CLOSE_NO_ROLE
    assert await moved.receive_nothing(timeout=0.3)
    await moved.disconnect()


async def test_a_change_that_announces_nothing_is_caught_by_the_periodic_check(ws, users, settings):
    from django.contrib.auth.models import User

    settings.STREAM_ACCESS_CHECK_SECONDS = 0.2
    communicator = await ws("engineer")
    await hello(communicator)
    # A queryset update sends no signal: only the timer can notice.
    await database_sync_to_async(User.objects.filter(pk=users["engineer"].pk).update)(
        is_active=False
    )
    assert await closed_while_open(communicator) == CLOSE_UNAUTHENTICATED


async def test_deleting_a_token_closes_the_connections_it_opened(ws, users):
    from core.models import ApiToken

    communicator = await ws("admin")
    await hello(communicator)
    await database_sync_to_async(lambda: ApiToken.objects.filter(user=users["admin"]).delete())()
    assert await closed_while_open(communicator) == CLOSE_UNAUTHENTICATED


async def test_signing_in_elsewhere_closes_nothing(ws, users):
    communicator = await ws("engineer")
    await hello(communicator)
    await database_sync_to_async(session_cookie_of)(users["engineer"])  # saves last_login
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_session_from_before_a_secret_key_rotation_is_read_but_never_changed(
    ws, users, settings
):
    from django.contrib.sessions.models import Session

    cookie = await database_sync_to_async(session_cookie_of)(users["legal"])
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    communicator = await ws(None, headers=[(b"cookie", f"sessionid={cookie}".encode())])
    await hello(communicator)
    await hub_recheck()
    assert await communicator.receive_nothing(timeout=0.2)
    # Django's get_user would have moved the session to a new key, which a websocket cannot
    # hand the browser: its cookie would have stopped working.
    assert await database_sync_to_async(Session.objects.filter(session_key=cookie).exists)()
    await communicator.disconnect()


async def hub_recheck() -> None:
    from incidents.stream.consumers import hub

    await hub().recheck()


async def test_a_sign_out_closes_its_session_even_before_django_deletes_the_session(ws, users):
    """Django announces a sign-out first and deletes the session after: a re-check made in
    between must not find the session still valid and keep the connection."""
    from types import SimpleNamespace

    from django.contrib.auth.signals import user_logged_out
    from django.contrib.sessions.backends.db import SessionStore

    cookie = await database_sync_to_async(session_cookie_of)(users["executive"])
    communicator = await ws(None, headers=[(b"cookie", f"sessionid={cookie}".encode())])
    await hello(communicator)

    def announce_only() -> None:  # the session is left in place
        request = SimpleNamespace(session=SessionStore(cookie))
        user_logged_out.send(sender=type(users["executive"]), request=request, user=None)

    await database_sync_to_async(announce_only)()
    assert await closed_while_open(communicator) == CLOSE_UNAUTHENTICATED
