"""A web process told to stop (SIGTERM) while requests are in flight exits promptly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.processes import ROOT, free_port

IN_FLIGHT = 200


async def flood(port: int, started: asyncio.Event) -> None:
    """Open IN_FLIGHT connections, each asking for /healthz; set ``started`` at the first answer."""

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await writer.drain()
            if await reader.read(1):
                started.set()
            writer.close()
        except OSError:
            pass  # the server went away mid-request: expected here

    await asyncio.gather(*(one() for _ in range(IN_FLIGHT)))


def test_sigterm_with_requests_in_flight_stops_the_server_promptly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_DEBUG="1", BREACH_DESK_VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with open(tmp_path / "daphne.log", "w") as log:
        proc = subprocess.Popen(
            [*command, "core.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:

        async def scenario() -> None:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    assert time.monotonic() < deadline and proc.poll() is None, "no daphne"
                    await asyncio.sleep(0.2)
            started = asyncio.Event()
            load = asyncio.create_task(flood(port, started))
            await asyncio.wait_for(started.wait(), timeout=30)
            proc.send_signal(signal.SIGTERM)  # most of the flood is still queued or running
            await asyncio.wait_for(load, timeout=60)

        asyncio.run(scenario())
        stopped = time.monotonic()
        proc.wait(timeout=30)
        assert time.monotonic() - stopped < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
