"""The publishing side: one broadcast per committed event, after commit, never failing a write."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from incidents.errors import RequirementsMissing
from incidents.lifecycle import apply_transition
from incidents.stream import push as stream
from incidents.stream.frames import EventSerializer, IncidentSummarySerializer


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Layer messages handed to the channel layer (the edge of this process)."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(stream, "broadcast_now", sent.append)
    return sent


def test_broadcast_waits_for_the_commit_and_carries_rest_shapes(
    django_capture_on_commit_callbacks, incident_in, users, published
):
    incident = incident_in("detected")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changed, event = apply_transition(incident, "start_scoping", actor=users["engineer"])
        assert published == []
    assert len(callbacks) == 1
    callbacks[0]()
    [message] = published
    assert message["type"] == stream.MESSAGE_TYPE
    assert (message["seq"], message["reference"]) == (event.seq, incident.reference)
    frame = json.loads(message["text"])
    assert frame == {
        "type": "event",
        "seq": event.seq,
        "event": json.loads(json.dumps(EventSerializer(event).data)),
        "incident": json.loads(json.dumps(IncidentSummarySerializer(changed).data)),
    }
    assert frame["incident"]["state"] == "scoping"


def test_event_frames_travel_in_ascii_whatever_the_title(
    django_capture_on_commit_callbacks, incident_in, users, published
):
    """daphne encodes each send to UTF-8: a copy for an ASCII string, a walk per character
    (per viewer) for any other."""
    incident = incident_in("detected", title="نشت پشتیبان — backup")
    with django_capture_on_commit_callbacks(execute=True):
        apply_transition(incident, "start_scoping", actor=users["engineer"])
    [message] = published
    assert message["text"].isascii()
    assert json.loads(message["text"])["incident"]["title"] == "نشت پشتیبان — backup"


def test_failed_transition_registers_no_broadcast(
    django_capture_on_commit_callbacks, incident_in, users, published
):
    incident = incident_in("scoping")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RequirementsMissing):
            apply_transition(incident, "start_restoration", actor=users["engineer"])
    assert callbacks == [] and published == []


class HangingLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await asyncio.sleep(30)


class BrokenLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("layer", [HangingLayer(), BrokenLayer()], ids=["hanging", "down"])
def test_transition_succeeds_quickly_and_logs_when_the_layer_fails(
    api, incident_in, monkeypatch, caplog, settings, layer
):
    settings.STREAM_SEND_TIMEOUT = 0.2
    monkeypatch.setattr(stream, "get_channel_layer", lambda: layer)
    incident = incident_in("detected")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="breach_desk.stream"):
        response = api("engineer").post(
            f"/api/incidents/{incident.reference}/transitions/start_scoping/", {}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "scoping"
    assert time.monotonic() - started < 3
    assert "not broadcast" in caplog.text and "resync" in caplog.text


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append(message)


@pytest.mark.django_db(transaction=True)
async def test_a_web_request_thread_pushes_through_the_server_loop_before_answering(
    incident_in, users, monkeypatch
):
    """A view runs in a thread beside the server's event loop (as sync_to_async runs it here):
    its after-commit push goes through that loop with public asgiref calls, and is sent by the
    time the transition returns."""
    layer = RecordingLayer()
    monkeypatch.setattr(stream, "get_channel_layer", lambda: layer)
    incident = await sync_to_async(incident_in)("detected")
    changed, event = await asyncio.wait_for(
        sync_to_async(apply_transition)(incident, "start_scoping", actor=users["engineer"]),
        timeout=10,
    )
    assert changed.state == "scoping"
    [message] = [m for m in layer.sent if m["seq"] == event.seq]
    assert message["reference"] == incident.reference
