"""Live stream: commit-to-receipt latency with 100/500/1,000 websocket clients (issue 3).

    .venv/bin/python bench/stream.py [--clients 100,500,1000] [--events 30] [--quick]

Cases, all in one run on 127.0.0.1 (results in bench/results/stream-*.json, summary printed as
Markdown rows for bench/README.md):
  floor        a plain `websockets` broadcast server (bench/stream_floor.py)
  bare-1       a bare channels consumer that only forwards a group message, 1 daphne, in-memory
  app-1        Breach Desk (core.asgi), 1 daphne, in-memory layer
  bare-2       the bare consumer, 2 daphne behind Redis (pub/sub layer)
  app-2        Breach Desk, 2 daphne behind Redis, pub/sub layer (what REDIS_URL selects)
  app-2-core   Breach Desk, 2 daphne behind Redis, channels-redis core layer
  app-1-nogc / app-2-nogc   as above with WEB_GC_TUNING=0 (largest client count only)
Latency: for the app, receipt time minus the event's ``created_at`` (stamped inside the
transaction just before commit, so this slightly over-counts); for the baselines, receipt time
minus the publisher's send time. Clients run in one separate process and record (time, frame)
as they arrive, parsing only after the run. Every process started here is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, ROOT, free_port, stop, wait_port  # noqa: E402

PY = sys.executable
PAD = "x" * 1000  # baseline frames about as large as the app's (~1.2 kB)


# --- the client process --------------------------------------------------------------------


class RawClient(asyncio.Protocol):
    """A minimal websocket client: the upgrade by hand, then unmasked server frames parsed
    straight from the socket, each stamped when its bytes arrive. A full client library costs
    ~50-100 us per frame in Python, which at 1,000 clients in one process measured the client
    (p50 > 100 ms for the floor) instead of the server."""

    def __init__(self, path: str, host: str, token: str, hello: asyncio.Future) -> None:
        self.path, self.host, self.token, self.hello = path, host, token, hello
        self.buf = bytearray()
        self.upgraded = False
        self.frames: list[tuple[float, bytes]] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Token {self.token}\r\n" if self.token else ""
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://{self.host}\r\n{auth}\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buf[:16]:
                self.hello.set_exception(RuntimeError(bytes(self.buf[:end]).decode()))
                return
            del self.buf[: end + 4]
            self.upgraded = True
        while len(self.buf) >= 2:
            length, offset = self.buf[1] & 0x7F, 2
            if length == 126:
                if len(self.buf) < 4:
                    return
                length, offset = int.from_bytes(self.buf[2:4], "big"), 4
            elif length == 127:
                if len(self.buf) < 10:
                    return
                length, offset = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < offset + length:
                return
            opcode = self.buf[0] & 0x0F
            payload = bytes(self.buf[offset : offset + length])
            del self.buf[: offset + length]
            if opcode == 1:
                if not self.hello.done():
                    self.hello.set_result(None)
                else:
                    self.frames.append((now, payload))
            elif opcode == 9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            elif opcode == 8 and not self.hello.done():
                self.hello.set_exception(RuntimeError(f"closed {payload[:2].hex()}"))


async def _clients(urls: list[str], n: int, expect: int, token: str, idle: float) -> dict:
    loop = asyncio.get_running_loop()
    clients: list[RawClient] = []
    waits = []
    for i in range(n):
        host, _, path = urls[i % len(urls)].split("//", 1)[1].partition("/")
        hello = loop.create_future()
        name, port = host.split(":")
        _, client = await loop.create_connection(
            lambda p=path, h=host, f=hello: RawClient("/" + p, h, token, f), name, int(port)
        )
        clients.append(client)
        waits.append(hello)
        if i % 50 == 49:
            await asyncio.gather(*waits[-50:])  # do not flood the accept queue
    await asyncio.wait_for(asyncio.gather(*waits), 180)
    print("READY", flush=True)
    last_total, quiet_since = -1, time.monotonic()
    while True:
        await asyncio.sleep(0.2)
        total = sum(len(c.frames) for c in clients)
        if total >= n * expect:
            break
        if total != last_total:
            last_total, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since > idle:
            break
    for c in clients:
        c.transport.close()
    return _measure([c.frames for c in clients], expect)


def _t0(frame: dict) -> tuple[int, float] | None:
    if "t0" in frame:
        return frame["seq"], frame["t0"]
    if frame.get("type") == "event":
        return frame["seq"], dt.datetime.fromisoformat(frame["event"]["created_at"]).timestamp()
    return None  # heartbeats and the publisher's own echo carry nothing to time


def _measure(frames: list[list[tuple[float, bytes]]], expect: int) -> dict:
    latencies, lost = [], 0
    for got in frames:
        seqs = set()
        for received, text in got:
            stamp = _t0(json.loads(text))
            if stamp is not None and stamp[0] not in seqs:
                seqs.add(stamp[0])
                latencies.append((received - stamp[1]) * 1000)
        lost += expect - len(seqs)
    return {"latencies_ms": latencies, "lost": lost}


def client_main(args: argparse.Namespace) -> None:
    result = asyncio.run(_clients(args.urls.split(","), args.n, args.expect, args.token, args.idle))
    Path(args.out).write_text(json.dumps(result))


# --- the driver ----------------------------------------------------------------------------


class Bench:
    def __init__(self, events: int, interval: float) -> None:
        self.events, self.interval = events, interval
        self.var = Path(tempfile.mkdtemp(prefix="bench-stream-"))
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "CHANNELS_"))
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="bench.stream_settings",
            DJANGO_SECRET_KEY="bench-only",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            BREACH_DESK_VAR_DIR=str(self.var),
            PYTHONPATH=str(ROOT),
            LOG_LEVEL="WARNING",
            TELEGRAM_BOT_TOKEN="",
        )

    def prepare(self) -> None:
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env, check=True)
        script = (
            "from django.contrib.auth.models import Group, User\n"
            "from core.models import ApiToken\n"
            "from incidents.lifecycle import create_incident\n"
            "u = User.objects.create_user('bench', password='bench-only-password-1')\n"
            "u.groups.add(Group.objects.get_or_create(name='engineer')[0])\n"
            "i, _ = create_incident(actor=u, data={'title': 'Bench', 'severity': 'high'})\n"
            "print(ApiToken.issue(u)[1], i.reference)\n"
        )
        out = subprocess.run(
            [PY, "manage.py", "shell", "-c", script],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        self.token, self.reference = out[-2], out[-1]
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.redis_port, self.redis)

    def close(self) -> None:
        if self.redis is not None:
            stop(self.redis)

    def servers(
        self, kind: str, procs: int, layer: str, gc_tuning: bool
    ) -> list[tuple[int, subprocess.Popen]]:
        env = dict(
            self.env,
            WEB_GC_TUNING="1" if gc_tuning else "0",
            CHANNELS_PREFIX=f"b{uuid.uuid4().hex[:8]}",
            BENCH_CHANNEL_LAYER=layer,
        )
        if procs > 1:
            env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        started = []
        for _ in range(procs):
            port = free_port()
            if kind == "floor":
                cmd = [PY, "bench/stream_floor.py", str(port)]
            else:
                app = "core.asgi:application" if kind == "app" else "bench.stream_bare:application"
                cmd = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(self.var / "server.log", "a"),
            )
            started.append((port, proc))
        for port, proc in started:
            wait_port(port, proc)
        return started

    def publish(self, kind: str, port: int) -> None:
        if kind == "app":
            for i in range(self.events):
                body = json.dumps({"title": f"Bench {i}"}).encode()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/incidents/{self.reference}/",
                    data=body,
                    method="PATCH",
                    headers={
                        "Authorization": f"Token {self.token}",
                        "Content-Type": "application/json",
                    },
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    assert response.status == 200
                time.sleep(self.interval)
            return
        asyncio.run(self._publish_ws(port, "/" if kind == "floor" else "/ws/"))

    async def _publish_ws(self, port: int, path: str) -> None:
        import websockets

        async with websockets.connect(
            f"ws://127.0.0.1:{port}{path}", ping_interval=None, origin=f"http://127.0.0.1:{port}"
        ) as ws:
            await ws.recv()
            for i in range(self.events):
                frame = {"type": "bench", "seq": i, "t0": time.time(), "pad": PAD}
                await ws.send(json.dumps(frame))
                await asyncio.sleep(self.interval)

    def run(self, kind: str, procs: int, layer: str, n: int, gc_tuning: bool = True) -> dict:
        servers = self.servers(kind, procs, layer, gc_tuning)
        path = "/" if kind == "floor" else "/ws/events/" if kind == "app" else "/ws/"
        urls = ",".join(f"ws://127.0.0.1:{port}{path}" for port, _ in servers)
        out = self.var / f"client-{uuid.uuid4().hex[:6]}.json"
        client = subprocess.Popen(
            [
                PY,
                __file__,
                "client",
                "--urls",
                urls,
                "--n",
                str(n),
                "--expect",
                str(self.events),
                "--token",
                self.token if kind == "app" else "",
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = client.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"clients did not connect ({line!r})")
            time.sleep(1.0)  # let connection set-up garbage settle
            self.publish(kind, servers[0][0])
            client.wait(timeout=120)
            result = json.loads(out.read_text())
        finally:
            stop(client)
            for _, proc in servers:
                stop(proc)
        values = sorted(result["latencies_ms"])

        def pick(q: float) -> float:
            return values[int(q * (len(values) - 1))] if values else float("nan")

        return {
            "case": case_name(kind, procs, layer, gc_tuning),
            "clients": n,
            "frames": len(values),
            "lost": result["lost"],
            "p50_ms": round(pick(0.5), 1),
            "p99_ms": round(pick(0.99), 1),
            "max_ms": round(values[-1], 1) if values else None,
        }


def case_name(kind: str, procs: int, layer: str, gc_tuning: bool) -> str:
    name = "floor" if kind == "floor" else f"{kind}-{procs}"
    if procs > 1 and layer == "core":
        name += "-core"
    if not gc_tuning:
        name += "-nogc"
    return name


def driver_main(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 sockets per side
    counts = [int(c) for c in args.clients.split(",")]
    bench = Bench(args.events, args.interval)
    rows = []
    try:
        bench.prepare()
        plan = [
            ("floor", 1, "pubsub"),
            ("bare", 1, "pubsub"),
            ("app", 1, "pubsub"),
            ("bare", 2, "pubsub"),
            ("app", 2, "pubsub"),
            ("app", 2, "core"),
        ]
        for n in counts:
            for kind, procs, layer in plan:
                rows.append(bench.run(kind, procs, layer, n))
                print(json.dumps(rows[-1]), flush=True)
        if not args.quick:
            for procs in (1, 2):
                rows.append(bench.run("app", procs, "pubsub", max(counts), gc_tuning=False))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        bench.close()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = f"{os.cpu_count()} CPU, {platform.platform()}, Python {platform.python_version()}"
    summary = json.dumps({"machine": machine, "rows": rows}, indent=1)
    (RESULTS / f"stream-{stamp}.json").write_text(summary)
    print(f"\nmachine: {machine}\n")
    print("| clients | case | p50 ms | p99 ms | max ms | frames | lost |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        cells = [r[k] for k in ("clients", "case", "p50_ms", "p99_ms", "max_ms", "frames", "lost")]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode")
    client = sub.add_parser("client")
    client.add_argument("--urls", required=True)
    client.add_argument("--n", type=int, required=True)
    client.add_argument("--expect", type=int, required=True)
    client.add_argument("--token", default="")
    client.add_argument("--out", required=True)
    client.add_argument("--idle", type=float, default=8.0)
    parser.add_argument("--clients", default="100,500,1000")
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="skip the GC comparison")
    args = parser.parse_args()
    if args.mode == "client":
        client_main(args)
    else:
        driver_main(args)


if __name__ == "__main__":
    main()
