"""The live stream's back-pressure reaches below ASGI into daphne (stream/backpressure.py):
daphne hands each application ``partial(handle_reply, protocol)`` as ``send``, and the protocol
takes a Twisted push producer. Neither is part of ASGI; this fails the day daphne changes it, so
a slow client can never again quietly grow an unbounded buffer."""

from __future__ import annotations

import asyncio
from typing import Any

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet.testing import StringTransport

from incidents.stream.backpressure import TransportGate, daphne_protocol


async def test_daphne_hands_the_application_a_send_the_gate_can_watch():
    seen: dict[str, Any] = {}

    async def application(scope: dict, receive: Any, send: Any) -> None:
        seen["send"] = send

    # An endpoint it never listens on: run() is not called.
    server = Server(application=application, endpoints=["tcp:port=0:interface=127.0.0.1"])
    protocol = WebSocketProtocol()
    protocol.transport = StringTransport()
    server.connections = {protocol: {}}
    server.create_application(protocol, {"type": "websocket", "path": "/ws/events/"})
    await asyncio.sleep(0)
    assert daphne_protocol(seen["send"]) is protocol

    gate = TransportGate(seen["send"])
    assert protocol.transport.producer is gate and protocol.transport.streaming
    protocol.transport.producer.pauseProducing()  # the write buffer filled: the client is slow
    assert not gate.open.is_set()
    protocol.transport.producer.resumeProducing()
    assert gate.open.is_set()


async def test_under_another_server_the_gate_stays_open():
    async def send(message: dict) -> None: ...

    assert daphne_protocol(send) is None
    assert TransportGate(send).open.is_set()
