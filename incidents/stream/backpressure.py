"""Back-pressure from daphne's socket to the live stream: the one place that reaches below ASGI.

Why: a client that stops reading (a phone that lost its network, a stuck tab) must not make the
server buffer its frames without bound. ASGI's ``send`` gives no back-pressure and daphne's
never blocks, so without this a thousand stalled viewers of a major breach would each grow an
unbounded Twisted write buffer. With it, the transport pauses the consumer when its write buffer
passes 64 KiB, frames then wait in the consumer's bounded backlog (STREAM_CLIENT_QUEUE), and a
client that falls further behind is dropped (close 4008) and resyncs when it returns.

How, and why it is fragile: daphne hands each application ``partial(server.handle_reply,
protocol)`` as ``send``; the protocol is a Twisted ``Protocol`` whose transport accepts a push
producer (Twisted's public ``IPushProducer`` interface). Neither is part of ASGI or of daphne's
documented API, so ``tests/stream/test_daphne_backpressure.py`` fails loudly when daphne changes
the shape; elsewhere (tests, another server) the gate simply stays open. docs/architecture.md
lists this module among the workarounds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("breach_desk.stream")


def daphne_protocol(send: Any) -> Any | None:
    """The Twisted protocol behind daphne's ``send``, or None under any other server."""
    protocol = next(iter(getattr(send, "args", ())), None)
    if getattr(protocol, "transport", None) is None or not hasattr(protocol, "registerProducer"):
        return None
    return protocol


class TransportGate:
    """Twisted push producer on daphne's connection: the transport pauses us when its write
    buffer passes 64 KiB (the client is not reading) and resumes us when it drains, so a slow
    client queues frames here, where the queue is bounded, not in an unbounded socket buffer."""

    def __init__(self, send: Any) -> None:
        self.open = asyncio.Event()
        self.open.set()
        protocol = daphne_protocol(send)
        if protocol is not None and getattr(protocol.transport, "producer", None) is None:
            try:
                protocol.registerProducer(self, True)
            except Exception:  # never refuse a client over a diagnostic
                log.debug("live stream: could not watch the transport", exc_info=True)

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.open.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self.open.set()

    def stopProducing(self) -> None:  # noqa: N802
        self.open.set()
