"""Real servers for the end-to-end stream tests: daphne and redis-server child processes on free
loopback ports, always stopped by PID, and a client that follows the stream's resync contract."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.processes import ROOT, free_port, running_daphne, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def run_database_url() -> str:
    """DATABASE_URL naming the database this test run uses (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        user = db.get("USER") or "postgres"
        auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
        host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
        return f"postgres://{auth}@{host}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


@contextmanager
def daphne(
    tmp_path: Path, *, redis_url: str | None, prefix: str, name: str = "web"
) -> Iterator[str]:
    """A daphne child on a free port serving this run's database; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        # The test's own key: API tokens are bound to it (core.models.ApiToken).
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain http on loopback, no proxy: no redirect to https.
        DJANGO_SSL_REDIRECT="0",
        DATABASE_URL=run_database_url(),
        BREACH_DESK_VAR_DIR=str(tmp_path),
        CHANNELS_PREFIX=prefix,
        STREAM_SEND_TIMEOUT="0.5",
        STREAM_HEARTBEAT_SECONDS="1",
        TELEGRAM_BOT_TOKEN="",
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    with running_daphne(env, tmp_path / f"{name}.log") as (port, _proc):
        yield f"http://127.0.0.1:{port}"


class RedisServer:
    """A private redis-server that a test may kill and start again on the same port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        out = open(self.log, "a")
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        wait_for_port(self.port, self.proc, self.log)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def http(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def transition(base: str, token: str, reference: str, name: str, **payload: Any) -> int:
    url = f"{base}/api/incidents/{reference}/transitions/{name}/"
    status, body = await asyncio.to_thread(http, "POST", url, token, payload)
    assert status == 200, body
    return body["version"]


async def edit(base: str, token: str, reference: str, **changes: Any) -> None:
    url = f"{base}/api/incidents/{reference}/"
    status, body = await asyncio.to_thread(http, "PATCH", url, token, changes)
    assert status == 200, body


class LiveClient:
    """What docs/live-stream.md asks of a client: remember the last seq; on hello or on a gap,
    fetch ``/api/events/?after=<last seq>``; ignore what it already has."""

    def __init__(self, base: str, token: str, path: str = "/ws/events/") -> None:
        self.base, self.token, self.path = base, token, path
        self.seen: dict[int, dict[str, Any]] = {}
        self.last = 0
        self.live: list[int] = []  # seqs that came over the socket, in arrival order
        self.socket: Any = None

    async def connect(self) -> int:
        import websockets

        self.socket = await websockets.connect(
            "ws" + self.base.removeprefix("http") + self.path,
            additional_headers={"Authorization": f"Token {self.token}"},
            origin=self.base,
            open_timeout=10,
        )
        hello = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        assert hello["type"] == "hello"
        if hello["seq"] > self.last:
            await self.catch_up()
        return hello["seq"]

    async def catch_up(self) -> None:
        url = f"{self.base}/api/events/?after={self.last}"
        while url:
            status, body = await asyncio.to_thread(http, "GET", url, self.token)
            assert status == 200, body
            for item in body["results"]:
                self._keep(item["seq"], item)
            url = body["next"]

    def _keep(self, seq: int, event: dict[str, Any]) -> None:
        self.seen.setdefault(seq, event)
        self.last = max(self.last, seq)

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next event frame; heartbeats on the way trigger a resync when behind."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if message["type"] != "heartbeat":
                break
            if message["seq"] > self.last:
                await self.catch_up()
        assert message["type"] == "event"
        self.live.append(message["seq"])
        if message["seq"] > self.last + 1:
            await self.catch_up()
        self._keep(message["seq"], message["event"])
        return message

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
