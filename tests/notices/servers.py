"""Real servers on 127.0.0.1 for the notice tests and the bench: an SMTP server (aiosmtpd) that
keeps what it is sent and can refuse recipients or drop connections, and a fake SMS gateway
(aiohttp, in the style of tests/notifier/fake_botapi.py) answering from a script."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

GATEWAY_TOKEN = "sms-gateway-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """An aiosmtpd handler. ``refuse``: recipients answered 550 (permanently unknown);
    ``drop``: how many of the next messages have their connection cut in the middle of DATA,
    before the server answers (the client never hears whether it was taken); ``delay``: a slow
    server."""

    refuse: set[str] = field(default_factory=set)
    drop: int = 0
    delay: float = 0.0  # seconds each message waits before the server takes it (a slow server)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    data_attempts: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.data_attempts += 1
            dropping = self.drop > 0
            if dropping:
                self.drop -= 1
        if dropping:
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK: queued"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in m["To"]]

    def count(self) -> int:
        with self._lock:
            return len(self.messages)


class SmtpServer:
    """``with SmtpServer() as server:`` a real SMTP server on a free loopback port."""

    def __init__(self, mailbox: Mailbox | None = None) -> None:
        self.mailbox = mailbox or Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class SmsCall:
    to: str
    text: str
    authorization: str
    status: int
    at: float


@dataclass
class FakeSmsGateway:
    """The SMS gateway contract of docs/notifications.md on loopback. ``script`` answers the next
    requests in turn: 200, 400, 500, or ("429", retry_after); then 200."""

    calls: list[SmsCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.script: deque[Any] = deque()
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def answer(self, *answers: Any) -> None:
        self.script.extend(answers)

    def delivered(self) -> list[SmsCall]:
        with self._lock:
            return [c for c in self.calls if c.status == 200]

    def __enter__(self) -> FakeSmsGateway:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/send", self._send)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        answer = self.script.popleft() if self.script else "200"
        retry_after = None
        if isinstance(answer, tuple):
            answer, retry_after = answer
        status = int(answer)
        authorization = request.headers.get("Authorization", "")
        if authorization != f"Bearer {GATEWAY_TOKEN}":
            status = 401
        with self._lock:
            self.calls.append(
                SmsCall(body["to"], body["text"], authorization, status, time.monotonic())
            )
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        payload = {"id": len(self.calls)} if status == 200 else {"error": f"answer {status}"}
        return web.Response(
            status=status,
            text=json.dumps(payload),
            headers=headers,
            content_type="application/json",
        )
