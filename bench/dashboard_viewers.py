"""N live dashboards against 2 daphne processes with Redis: what one change costs (issue 21).

    .venv/bin/python bench/dashboard_viewers.py [--viewers 1,100,1000,2000] [--mode auto]
        [--events 12] [--interval 1.5] [--incidents 1000] [--variants 8] [--redis-db 5]
        [--timeout 600] [--no-storm] [--no-bare]

A fresh PostgreSQL database (1,000 incidents through the domain, as bench/dashboard.py builds
them), Redis at 127.0.0.1:6379 on a db number of its own (flushed at start), and for each N two
daphne processes (core.asgi) on loopback. N viewers, in one separate asyncio process, behave like
frontend/static/frontend/live.js: each loads ``/`` with its session cookie (signed-in executive,
engineer, legal and admin users, half of them in Persian: eight panel variants), reads
``#live[data-ws-path]`` and opens that socket on one of the two processes (alternating); on
``hello`` it catches up from the feed (following ``next``); then
  fetch mode (today's script)  80 ms after an event frame, ``GET /`` with ``HX-Request: true``;
  push mode (PROTOCOL: panels pushed over the socket)  waits for ``panels`` frames.
``--mode auto`` picks push when a panels frame follows hello within 3 s, else fetch.

A writer in this process makes K changes through the API (token auth, one every --interval s).
Per N, first the baseline: N clients of the event stream alone (``/ws/events/``, no panels), K
changes, the bare push p50/p99 (the event's created_at, stamped just before commit, to the event
frame at each client). Then the N dashboards: daphne CPU per event (both processes, /proc
utime+stime over the event phase / K), PostgreSQL's (the bench database's backends) and Redis's
(INFO; a shared server, so only indicative), and every server process's together (daphne's and
that against the same at N = 1); the dashboards' event frames p50/p99 (they travel with their
change's panels, in one ``batch`` frame), panels p50/p99 (created_at to the first panels
covering that seq at each viewer: the frame in push mode, the HTTP answer in fetch mode) against
the bare push p99, and panel requests per event; each change's own push and panels p50/max
(``per_change`` in the JSON: a phase's p99 is its slowest change or two). Then the reconnect
storm: both daphne processes are stopped (a deploy), one change is made through the domain while
they are down, they are started again, and we time until every viewer has a new hello and panels
covering that change, with the CPU it took. Results:
bench/results/dashboard_viewers-<stamp>.json, summary rows printed as Markdown. Every process
started here is stopped by PID; everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import html
import json
import os
import platform
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    RESULTS,
    ROOT,
    bench_env,
    free_port,
    fresh_postgres,
    process_counters,
    stop,
    wait_port,
)
from core.run import DAPHNE_OPTIONS  # noqa: E402

PY = sys.executable
KIND = re.compile(rb'"type":\s*"(\w+)"')
SEQ = re.compile(rb'"seq":\s*(\d+)')
LIVE = re.compile(r'id="live"[^>]*?data-ws-path="([^"]*)"', re.S)
FEED = re.compile(r'id="live"[^>]*?data-feed="([^"]*)"', re.S)
PART = re.compile(rb'\{"type": "(event|panels)", "seq": (\d+)')
PANELS_SEQ = re.compile(rb'id="panels"[^>]*?data-seq="(\d+)"', re.S)
# nginx terminates TLS in production and says so with this header (core/settings.py); sending
# it keeps the HTTPS redirect on and makes the socket's Origin https://host.
PROXY = "X-Forwarded-Proto: https\r\n"


def raise_file_limit() -> None:
    """2,000 sockets per side need more than the usual soft limit of 1,024 descriptors."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- the client process: N viewers ---------------------------------------------------------


async def http_get(port: int, path: str, headers: str) -> tuple[int, bytes, float]:
    """One HTTP/1.0 GET (the server closes, so no chunked bodies): status, body, arrival time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{PROXY}{headers}"
        "Connection: close\r\n\r\n".encode()
    )
    data = await reader.read()
    arrived = time.time()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(None, 2)[1]), body, arrived


def peek(payload: bytes) -> tuple[str, int]:
    """A frame's type and seq without parsing a panels frame's whole HTML: the client must
    not be what the panel latency measures."""
    kind, seq = KIND.search(payload, 0, 200), SEQ.search(payload, 0, 200)
    if kind and (seq or kind.group(1) == b"hello"):
        return kind.group(1).decode(), int(seq.group(1)) if seq else 0
    frame = json.loads(payload)
    return str(frame.get("type")), int(frame.get("seq") or 0)


def parts(batch: bytes) -> list[tuple[str, int]]:
    """A ``batch`` frame's parts, each as its type and seq, without parsing the panels' HTML
    (json.loads of a change's batch is ~30 µs: 30 ms of this process's CPU per change at 1,000
    viewers, where a bare push's frame costs ``peek``'s ~2 µs). The server writes each part
    with its type and seq first and the panels frame last (frontend/live.py); inside a JSON
    string a quote is escaped, so the headers found here are the parts' own."""
    found = [(m.group(1).decode(), int(m.group(2))) for m in PART.finditer(batch)]
    if not found:  # not as the server writes it: read it whole
        return [(str(p.get("type")), int(p.get("seq") or 0)) for p in json.loads(batch)["frames"]]
    return found


class Socket(asyncio.Protocol):
    """A minimal websocket client as in bench/stream.py (a library costs ~50-100 us per frame,
    which at 2,000 viewers in one process would measure the client): the upgrade by hand, then
    the server's unmasked frames, each handed to the viewer with the time its last byte came."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer
        self.buf = bytearray()
        self.upgraded = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        v = self.viewer
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {v.ws_path} HTTP/1.1\r\nHost: 127.0.0.1:{v.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: https://127.0.0.1:{v.port}\r\n{PROXY}{v.headers}\r\n".encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.viewer.closed()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buf[:16]:
                status = bytes(self.buf[: self.buf.find(b"\r\n")]).decode(errors="replace")
                refused = self.viewer.refused
                refused[status] = refused.get(status, 0) + 1
                self.transport.close()
                return
            del self.buf[: end + 4]
            self.upgraded = True
        while (frame := self._frame()) is not None:
            opcode, payload = frame
            if opcode == 1:
                self.viewer.frame(now, payload)
            elif opcode == 9:  # ping: answer with a masked pong
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)

    def _frame(self) -> tuple[int, bytes] | None:
        buf = self.buf
        if len(buf) < 2:
            return None
        length, offset = buf[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(buf[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < offset + length or len(buf) < offset:
            return None
        opcode, payload = buf[0] & 0x0F, bytes(buf[offset : offset + length])
        del buf[: offset + length]
        return opcode, payload


class Viewer:
    """One open dashboard, doing what live.js and stream.js do, and recording when each event
    frame and each panels update (frame or HTTP answer) arrived."""

    def __init__(self, port: int, cookie: str, language: str, world: World) -> None:
        self.port, self.world = port, world
        self.headers = f"Cookie: {cookie}\r\nAccept-Language: {language}\r\n"
        self.ws_path, self.feed = "", ""
        self.last_seq = self.panels_seq = 0
        self.catching = self.catch_again = self.ending = False
        self.refresh_pending = False
        self.retry = 0
        self.transport: Any = None
        self.events: dict[int, float] = {}
        self.panels: list[tuple[float, int]] = []
        self.hellos: list[float] = []
        self.requests = {"page": 0, "feed": 0, "panels": 0}
        self.errors = 0  # HTTP answers other than 200 (page, feed, panels)
        self.refused: dict[str, int] = {}  # handshakes answered without 101, by status line

    async def load(self) -> None:
        status, body, _ = await http_get(self.port, "/", self.headers)
        self.requests["page"] += 1
        if status != 200:
            raise RuntimeError(f"GET / answered {status}")
        page = body.decode()
        self.ws_path = html.unescape(LIVE.search(page).group(1))
        if self.world.mode == "bare":  # the event stream alone: the baseline push
            self.ws_path = "/ws/events/"
        self.feed = html.unescape(FEED.search(page).group(1))
        self.last_seq = self.panels_seq = int(PANELS_SEQ.search(body).group(1))

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.transport, _ = await loop.create_connection(
                lambda: Socket(self), "127.0.0.1", self.port
            )
        except OSError:
            self.closed()

    def closed(self) -> None:
        """stream.js: reconnect after a step of 0.5 s doubling to 15 s, spread at random over
        half to twice the step."""
        self.transport = None
        if self.ending:
            return
        step = min(15.0, 0.5 * 2**self.retry)
        delay = step / 2 + random.random() * step * 1.5
        self.retry += 1
        self.world.later(delay, self.connect)

    def frame(self, now: float, payload: bytes) -> None:
        kind, seq = peek(payload)
        if kind == "batch":  # a change's event frames and its panels, in one frame
            for part_kind, part_seq in parts(payload):
                self.one(now, part_kind, part_seq)
        else:
            self.one(now, kind, seq)

    def current(self) -> int:
        """The newest seq this viewer shows: its panels', or its events' on the bare stream."""
        return self.last_seq if self.world.mode == "bare" else self.panels_seq

    def one(self, now: float, kind: str, seq: int) -> None:
        if kind == "hello":
            self.retry = 0
            self.hellos.append(now)
            self.world.spawn(self.catch_up())
        elif kind == "panels":
            self.world.saw_panels = True
            self.panels.append((now, seq))
            self.panels_seq = max(self.panels_seq, seq)
        elif kind == "event":
            self.events.setdefault(seq, now)
            if seq <= self.last_seq:
                return
            if seq > self.last_seq + 1 or self.catching:
                self.world.spawn(self.catch_up())
                return
            self.last_seq = seq
            self.refresh()
        elif kind == "heartbeat" and seq > self.last_seq:
            self.world.spawn(self.catch_up())

    def refresh(self) -> None:
        """live.js: a burst of events costs one GET of the panels, 80 ms after the first."""
        if self.world.mode != "fetch" or self.refresh_pending:
            return
        self.refresh_pending = True
        self.world.later(0.08, self.fetch_panels)

    async def fetch_panels(self) -> None:
        self.refresh_pending = False
        self.requests["panels"] += 1
        status, body, arrived = await http_get(
            self.port, "/", self.headers + "HX-Request: true\r\n"
        )
        found = PANELS_SEQ.search(body) if status == 200 else None
        if found is None:
            self.errors += 1
            return
        self.panels.append((arrived, int(found.group(1))))
        self.panels_seq = max(self.panels_seq, int(found.group(1)))

    async def catch_up(self) -> None:
        if self.catching:
            self.catch_again = True
            return
        self.catching, changed = True, False
        address: str | None = f"{self.feed}?after={self.last_seq}"
        headers = self.headers + "Accept: application/json\r\n"
        while address:
            self.requests["feed"] += 1
            status, body, _ = await http_get(self.port, address, headers)
            if status != 200:
                self.errors += 1
                break
            page = json.loads(body)
            for event in page.get("results", []):
                if event["seq"] > self.last_seq:
                    self.last_seq, changed = event["seq"], True
            nxt = page.get("next")
            address = nxt and "/" + nxt.split("//", 1)[-1].split("/", 1)[1]
        self.catching = False
        if changed:
            self.refresh()
        if self.catch_again:
            self.catch_again = False
            await self.catch_up()

    def record(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "panels": self.panels,
            "hellos": self.hellos,
            "requests": self.requests,
            "errors": self.errors,
            "refused": self.refused,
        }


class World:
    """The viewers' shared loop: tasks kept alive until done, the mode, the driver's commands."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.saw_panels = False
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            print(f"viewer task failed: {task.exception()!r}", file=sys.stderr)

    def later(self, delay: float, work: Callable[[], Coroutine]) -> None:
        """Run ``work()`` in ``delay`` seconds (the coroutine is made only then: a timer still
        pending when the run ends leaves nothing un-awaited)."""
        asyncio.get_running_loop().call_later(delay, lambda: self.spawn(work()))


async def open_all(viewers: list[Viewer], world: World) -> None:
    """Load the page and connect, 50 at a time (a crowd arriving, not one SYN flood)."""
    gate = asyncio.Semaphore(50)

    async def one(viewer: Viewer) -> None:
        async with gate:
            await viewer.load()
            await viewer.connect()
            while not viewer.hellos:
                await asyncio.sleep(0.05)

    await asyncio.wait_for(asyncio.gather(*(one(v) for v in viewers)), 900)
    if world.mode == "auto":
        deadline = time.monotonic() + 3
        while not world.saw_panels and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        world.mode = "push" if world.saw_panels else "fetch"


async def wait_current(viewers: list[Viewer], seq: int, since: float, timeout: float) -> int:
    """Until every viewer has a hello after ``since`` and panels covering ``seq``; returns how
    many did not get there within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        behind = sum(
            1 for v in viewers if v.current() < seq or not v.hellos or v.hellos[-1] < since
        )
        if not behind or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(0.05)


async def viewers_main(args: argparse.Namespace) -> None:
    setup = json.loads(Path(args.setup).read_text())
    world = World(args.mode)
    ports, cookies = setup["ports"], setup["cookies"]
    # Viewer i shows variant i % --variants: a role (executive, engineer, legal, admin), then
    # the same four in Persian.
    variants = [(cookies[v % len(cookies)], ("en", "fa")[v // len(cookies) % 2]) for v in range(8)]
    viewers = [
        Viewer(ports[i % len(ports)], *variants[i % args.variants], world) for i in range(args.n)
    ]
    await open_all(viewers, world)
    print("READY", world.mode, flush=True)
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command or command[0] == "QUIT":
            break
        seq, since, timeout = int(command[1]), float(command[2]), float(command[3])
        behind = await wait_current(viewers, seq, since, timeout)
        print("DONE", behind, flush=True)
    for v in viewers:
        v.ending = True
        if v.transport is not None:
            v.transport.close()
    Path(args.out).write_text(
        json.dumps({"mode": world.mode, "viewers": [v.record() for v in viewers]})
    )


def client_main(args: argparse.Namespace) -> None:
    raise_file_limit()
    asyncio.run(viewers_main(args))


# --- the driver ----------------------------------------------------------------------------


def prepare(args: argparse.Namespace, var: Path) -> dict[str, Any]:
    """The database, the Redis db, Django in this process, users, sessions and the writer."""
    import redis
    from cryptography.fernet import Fernet

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    env = bench_env(
        var,
        DATABASE_URL=fresh_postgres(args.database),
        REDIS_URL=redis_url,
        CHANNELS_PREFIX=f"bench-viewers-{args.redis_db}",
        DJANGO_DEBUG="0",
        PII_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TELEGRAM_BOT_TOKEN="",
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    cookies, token, reference = populate_viewers(args.incidents)
    print(f"populated {args.incidents} incidents in {time.monotonic() - started:.0f} s", flush=True)
    return {"env": env, "redis": redis_url, "cookies": cookies, "token": token, "ref": reference}


def populate_viewers(incidents: int) -> tuple[list[str], str, str]:
    """bench/dashboard.py's incidents, plus a legal user and an admin: one session cookie per
    role (executive, engineer, legal, admin), an engineer's API token and the incident the
    writer changes."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.db import connections
    from django.test import Client

    from bench.dashboard import populate
    from core.models import ApiToken
    from incidents.lifecycle import create_incident

    executive = populate(incidents)
    engineer = User.objects.get(username="eng")
    legal = User.objects.create_user("legal")
    legal.groups.add(Group.objects.get_or_create(name="legal")[0])
    admin = User.objects.create_superuser("admin", password=None)
    cookies = []
    for user in (executive, engineer, legal, admin):
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append(f"{name}={client.cookies[name].value}")
    incident, _ = create_incident(actor=engineer, data={"title": "Live", "severity": "high"})
    token = ApiToken.issue(engineer)[1]
    connections.close_all()
    return cookies, token, incident.reference


def head_seq() -> int:
    from django.db import connections

    from incidents.models import LogHead

    seq = LogHead.objects.latest_seq()
    connections.close_all()  # nothing of this process's may hold a connection during a phase
    return seq


def commit_times(after: int, upto: int) -> dict[int, float]:
    from django.db import connections

    from incidents.models import Event

    rows = Event.objects.filter(seq__gt=after, seq__lte=upto).values_list("seq", "created_at")
    times = {seq: created.timestamp() for seq, created in rows}
    connections.close_all()
    return times


def change_while_down(reference: str, n: int) -> None:
    """A change committed while both servers are down (a deploy): every viewer must catch up."""
    from django.contrib.auth.models import User
    from django.db import connections

    from incidents.lifecycle import update_incident
    from incidents.models import Incident

    incident = Incident.objects.get(reference=reference)
    actor = User.objects.get(username="eng")
    update_incident(incident, actor=actor, changes={"title": f"Live, after deploy {n}"})
    connections.close_all()


def redis_cpu(url: str) -> float:
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def postgres_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``database`` (the server runs on
    this machine). A backend that ends during a phase takes its share with it: a slight
    under-count."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
        rows = c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = [pid for (pid,) in rows.fetchall()]
    return {pid: counters[0] for pid in pids if (counters := process_counters(pid))}


def postgres_cpu_since(database: str, before: dict[int, float]) -> float:
    after = postgres_backends(database)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def shared_renders(url: str, after: int, upto: int) -> int | None:
    """Panel renders shared through the cache for seqs in (after, upto], counted from the keys
    frontend/panels.py writes (``dashboard-panels:<seq>:...``); None when there are none (the
    fetch mode's server shares nothing). The one count that sees both processes."""
    import redis

    seqs = []
    for key in redis.Redis.from_url(url).scan_iter(match="*dashboard-panels:*", count=1000):
        rest = key.decode().split("dashboard-panels:", 1)[1]
        if not rest.endswith(":lock") and rest.split(":", 1)[0].isdigit():
            seqs.append(int(rest.split(":", 1)[0]))
    if not seqs:
        return None
    return sum(1 for seq in seqs if after < seq <= upto)


def cpu(procs: list[subprocess.Popen]) -> float:
    return sum((process_counters(p.pid) or (0.0, 0))[0] for p in procs)


def start_servers(ports: list[int], env: dict[str, str], log: Path) -> list[subprocess.Popen]:
    procs = [
        subprocess.Popen(
            [
                PY,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                *DAPHNE_OPTIONS,
                "core.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(log, "a"),  # noqa: SIM115 - the child holds it
        )
        for port in ports
    ]
    for port, proc in zip(ports, procs, strict=True):
        wait_port(port, proc)
    return procs


def write(port: int, token: str, reference: str, title: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/incidents/{reference}/",
        data=json.dumps({"title": title}).encode(),
        method="PATCH",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200, response.status


def refusals(viewers: list[dict]) -> dict[str, int]:
    total: dict[str, int] = {}
    for viewer in viewers:
        for status, count in viewer["refused"].items():
            total[status] = total.get(status, 0) + count
    return total


def pick(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 1) if ordered else None


def first_covering(panels: list[list[float]], seq: int, since: float = 0.0) -> float | None:
    """When a viewer's panels first reflected ``seq`` (an update with its seq or a later one)."""
    times = [t for t, s in panels if s >= seq and t > since]
    return min(times) if times else None


def event_phase(viewers: list[dict], commits: dict[int, float]) -> dict[str, Any]:
    push, panels, lost_push, lost_panels = [], [], 0, 0
    for viewer in viewers:
        for seq, committed in commits.items():
            arrived = viewer["events"].get(str(seq))
            if arrived is None:
                lost_push += 1
            else:
                push.append((arrived - committed) * 1000)
            updated = first_covering(viewer["panels"], seq)
            if updated is None:
                lost_panels += 1
            else:
                panels.append((updated - committed) * 1000)
    push_p99, panels_p99 = pick(push, 0.99), pick(panels, 0.99)
    return {
        "per_change": per_change(viewers, commits),
        "push_p50_ms": pick(push, 0.5),
        "push_p99_ms": push_p99,
        "push_lost": lost_push,
        "panels_p50_ms": pick(panels, 0.5),
        "panels_p99_ms": panels_p99,
        "panels_max_ms": pick(panels, 1.0),
        "panels_lost": lost_panels,
        "panels_p99_over_push_p99": round(panels_p99 / push_p99, 2)
        if push_p99 and panels_p99
        else None,
    }


def per_change(viewers: list[dict], commits: dict[int, float]) -> list[dict[str, Any]]:
    """Each change's own push and panels p50/max (ms): a phase's p99 is decided by its slowest
    change or two, and this says which, and whether the push or the panels made it slow."""
    rows = []
    for seq, committed in sorted(commits.items()):
        push = [
            (v["events"][str(seq)] - committed) * 1000 for v in viewers if str(seq) in v["events"]
        ]
        panels = [
            (t - committed) * 1000
            for v in viewers
            if (t := first_covering(v["panels"], seq)) is not None
        ]
        rows.append(
            {
                "seq": seq,
                "push_p50_ms": pick(push, 0.5),
                "push_max_ms": pick(push, 1.0),
                "panels_p50_ms": pick(panels, 0.5),
                "panels_max_ms": pick(panels, 1.0),
            }
        )
    return rows


def storm_phase(viewers: list[dict], seq: int, stopped: float, started: float) -> dict[str, Any]:
    """Per viewer: from the restart to its first hello and panels covering ``seq`` (both),
    and from that hello to those panels (the server's share; the rest is stream.js's backoff
    and the servers' start-up)."""
    live, served, missing = [], [], 0
    for viewer in viewers:
        hello = min((t for t in viewer["hellos"] if t > stopped), default=None)
        panels = first_covering(viewer["panels"], seq, stopped)
        if hello is None or panels is None:
            missing += 1
        else:
            live.append((max(hello, panels) - started) * 1000)
            served.append((max(hello, panels) - hello) * 1000)
    return {
        "live_p50_ms": pick(live, 0.5),
        "live_p99_ms": pick(live, 0.99),
        "all_live_ms": pick(live, 1.0),
        "hello_to_panels_p50_ms": pick(served, 0.5),
        "hello_to_panels_p99_ms": pick(served, 0.99),
        "not_live": missing,
    }


class Case:
    """One N: servers, the viewers' process, the event phase, the storm."""

    def __init__(self, setup: dict[str, Any], args: argparse.Namespace, var: Path, n: int):
        self.setup, self.args, self.var, self.n = setup, args, var, n
        self.ports = [free_port(), free_port()]
        self.servers: list[subprocess.Popen] = []
        self.viewers: subprocess.Popen | None = None
        self.out = var / f"viewers-{n}.json"

    def start_viewers(self, mode: str, out: Path) -> str:
        spec = self.var / f"setup-{self.n}.json"
        spec.write_text(json.dumps({"ports": self.ports, "cookies": self.setup["cookies"]}))
        command = [PY, __file__, "viewers", "--setup", str(spec), "--n", str(self.n)]
        command += ["--mode", mode, "--out", str(out)]
        command += ["--variants", str(self.args.variants)]
        self.viewers = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.viewers.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"viewers did not get ready ({line!r})")
        return line[1]

    def wait(self, seq: int, since: float) -> int:
        self.viewers.stdin.write(f"WAIT {seq} {since} {self.args.timeout}\n")
        self.viewers.stdin.flush()
        line = self.viewers.stdout.readline().split()
        if not line or line[0] != "DONE":
            raise RuntimeError(f"viewers stopped answering ({line!r})")
        return int(line[1])

    def quit_viewers(self) -> None:
        self.viewers.stdin.write("QUIT\n")
        self.viewers.stdin.flush()
        self.viewers.wait(timeout=120)

    def bare(self) -> dict[str, Any]:
        """The baseline: the same N clients on the event stream alone (``/ws/events/``: no
        panels), the same kind of changes. Its push p99 is what the panels are held to."""
        out = self.var / f"bare-{self.n}.json"
        try:
            self.start_viewers("bare", out)
            phase = self.events()
            self.quit_viewers()
        finally:
            if self.viewers is not None:
                stop(self.viewers)
        records = json.loads(out.read_text())["viewers"]
        timing = event_phase(records, commit_times(phase["seq0"], phase["seq1"]))
        keys = ("push_p50_ms", "push_p99_ms", "push_lost", "per_change")
        return {
            **{k: timing[k] for k in keys},
            "settled_after_s": phase["settled_after_s"],
            "daphne_cpu_ms_per_event": phase["daphne_cpu_ms_per_event"],
            "errors": sum(v["errors"] for v in records),
        }

    def run(self) -> dict[str, Any]:
        log = self.var / "server.log"
        self.servers = start_servers(self.ports, self.setup["env"], log)
        try:
            bare = self.bare() if self.args.bare else None
            mode = self.start_viewers(self.args.mode, self.out)
            row = {"viewers": self.n, "mode": mode, **self.events()}
            if self.args.storm:
                row["storm"] = self.storm(log)
            self.quit_viewers()
            records = json.loads(self.out.read_text())["viewers"]
        finally:
            if self.viewers is not None:
                stop(self.viewers)
            for proc in self.servers:
                stop(proc)
        seq0, seq1 = row.pop("seq0"), row.pop("seq1")
        row.update(event_phase(records, commit_times(seq0, seq1)))
        if bare is not None:
            row["bare"] = bare
            row["panels_p99_over_bare_push_p99"] = (
                round(row["panels_p99_ms"] / bare["push_p99_ms"], 2)
                if bare["push_p99_ms"] and row["panels_p99_ms"]
                else None
            )
            row["typical_change_ratio"] = typical_change_ratio(row, bare)
        row["panel_updates_per_viewer_event"] = round(
            sum(sum(1 for t, _ in v["panels"] if row["t0"] <= t <= row["t1"]) for v in records)
            / (self.n * self.args.events),
            2,
        )
        if self.args.storm:
            s = row["storm"]
            s.update(storm_phase(records, s.pop("seq"), s.pop("stopped"), s.pop("started")))
            if s["all_live_ms"] is not None:
                s["all_live_after_listening_ms"] = round(s["all_live_ms"] - s["listening_after_ms"])
        row["requests"] = {
            k: sum(v["requests"][k] for v in records) for k in records[0]["requests"]
        }
        row["errors"] = sum(v["errors"] for v in records)
        row["handshakes_refused"] = refusals(records)
        del row["t0"], row["t1"]
        return row

    def events(self) -> dict[str, Any]:
        settled = self.settle()
        seq0, k = head_seq(), self.args.events
        daphne0, redis0, t0 = cpu(self.servers), redis_cpu(self.setup["redis"]), time.time()
        postgres0 = postgres_backends(self.args.database)
        for i in range(k):
            write(self.ports[0], self.setup["token"], self.setup["ref"], f"Live {self.n}-{i}")
            time.sleep(self.args.interval)
        seq1 = head_seq()
        behind = self.wait(seq1, 0.0)
        t1 = time.time()
        postgres = postgres_cpu_since(self.args.database, postgres0)
        # Counted now: the shared renders expire from the cache within a minute or so.
        renders = shared_renders(self.setup["redis"], seq0, seq1)
        return {
            "shared_renders_per_event": None if renders is None else round(renders / k, 2),
            "events": k,
            "settled_after_s": settled,
            "seq0": seq0,
            "seq1": seq1,
            "t0": t0,
            "t1": t1,
            "behind_at_timeout": behind,
            "phase_s": round(t1 - t0, 1),
            "daphne_cpu_ms_per_event": round((cpu(self.servers) - daphne0) * 1000 / k, 1),
            "postgres_cpu_ms_per_event": round(postgres * 1000 / k, 1),
            "redis_cpu_ms_per_event": round(
                (redis_cpu(self.setup["redis"]) - redis0) * 1000 / k, 1
            ),
        }

    def settle(self, window: float = 0.5, busy: float = 0.05, limit: float = 60.0) -> float:
        """Wait until the servers are idle (both together under ``busy`` of a core over a
        ``window``) before the first change, instead of a fixed second: the phase's first
        change was its slowest in every run, and this rules out the tail of N connections'
        set-up (page loads, catch-ups, the first panels) as the cause. Returns the seconds
        waited (at most ``limit``)."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = cpu(self.servers)
            time.sleep(window)
            if cpu(self.servers) - before < busy * window:
                break
        return round(time.monotonic() - started, 1)

    def storm(self, log: Path) -> dict[str, Any]:
        """A deploy: both servers stopped, one change while they are down, both started again."""
        stopped = time.time()
        for proc in self.servers:
            stop(proc)
        change_while_down(self.setup["ref"], self.n)
        seq = head_seq()
        started = time.time()
        self.servers = start_servers(self.ports, self.setup["env"], log)
        boot = cpu(self.servers)
        listening = time.time()
        behind = self.wait(seq, stopped)
        return {
            "seq": seq,
            "stopped": stopped,
            "started": started,
            "listening_after_ms": round((listening - started) * 1000),
            "behind_at_timeout": behind,
            "daphne_boot_cpu_ms": round(boot * 1000),
            "daphne_cpu_ms_after_listening": round((cpu(self.servers) - boot) * 1000),
        }


def typical_change_ratio(row: dict[str, Any], bare: dict[str, Any]) -> float | None:
    """The median change's slowest panels over the median change's slowest bare push. A
    phase's p99 is its slowest change or two (``per_change``), so one slow change on either
    side decides the p99 ratio; this one says what a usual change costs."""
    panels = [c["panels_max_ms"] for c in row["per_change"] if c["panels_max_ms"] is not None]
    pushes = [c["push_max_ms"] for c in bare["per_change"] if c["push_max_ms"] is not None]
    if not panels or not pushes:
        return None
    return round(statistics.median(panels) / statistics.median(pushes), 2)


def server_cpu(row: dict[str, Any]) -> float:
    """Every server process's CPU per event: both daphne processes, the PostgreSQL backends of
    the bench database and Redis (the clients are the load, not the server)."""
    keys = ("daphne_cpu_ms_per_event", "postgres_cpu_ms_per_event", "redis_cpu_ms_per_event")
    return round(sum(row[k] for k in keys), 1)


def summary(rows: list[dict[str, Any]]) -> None:
    one = next((r for r in rows if r["viewers"] == 1), None)
    base, base_server = (one["daphne_cpu_ms_per_event"], server_cpu(one)) if one else (None, None)
    print(
        "\n| viewers | mode | daphne CPU ms/event | x 1 viewer | every server process ms/event"
        " (x 1 viewer) | the bare push's daphne CPU ms/event | bare push p50/p99 ms"
        " | dashboard events p50/p99 ms | panels p50/p99 ms | panels p99 / bare push p99"
        " | storm: all live ms (after listening) | storm CPU ms |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ratio = round(r["daphne_cpu_ms_per_event"] / base, 1) if base else "n/a"
        server = server_cpu(r)
        server_ratio = round(server / base_server, 2) if base_server else "n/a"
        s, bare = r.get("storm", {}), r.get("bare", {})
        cells = [
            r["viewers"],
            r["mode"],
            r["daphne_cpu_ms_per_event"],
            ratio,
            f"{server} ({server_ratio})",
            bare.get("daphne_cpu_ms_per_event"),
            f"{bare.get('push_p50_ms')} / {bare.get('push_p99_ms')}",
            f"{r['push_p50_ms']} / {r['push_p99_ms']}",
            f"{r['panels_p50_ms']} / {r['panels_p99_ms']}",
            r.get("panels_p99_over_bare_push_p99"),
            f"{s.get('all_live_ms')} ({s.get('all_live_after_listening_ms')})",
            s.get("daphne_cpu_ms_after_listening"),
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for r in rows:
        if r.get("typical_change_ratio") is not None:
            print(
                f"{r['viewers']} viewers: a typical change's slowest panels / slowest bare push"
                f" (medians over the changes): {r['typical_change_ratio']}"
            )


def driver_main(args: argparse.Namespace) -> None:
    raise_file_limit()  # daphne inherits it: 1,000 sockets per process
    # A SIGTERM unwinds through the cases' ``finally``: their servers and viewers stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var = Path(tempfile.mkdtemp(prefix="bench-viewers-"))
    setup = prepare(args, var)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = f"{os.cpu_count()} CPU, {platform.platform()}, Python {platform.python_version()}"
    keys = ("incidents", "events", "interval", "mode", "variants")
    result = {"machine": machine, "settings": {k: getattr(args, k) for k in keys}, "rows": []}
    for n in (int(c) for c in args.viewers.split(",")):
        result["rows"].append(Case(setup, args, var, n).run())
        print(json.dumps(result["rows"][-1]), flush=True)
        # Written after every N: a long run stopped half-way keeps what it measured.
        (RESULTS / f"dashboard_viewers-{stamp}.json").write_text(json.dumps(result, indent=1))
    print(f"\nmachine: {machine}; results/dashboard_viewers-{stamp}.json")
    summary(result["rows"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # the viewers' --n is not an abbreviation of --no-...
    )
    sub = parser.add_subparsers(dest="role")
    viewers = sub.add_parser("viewers", help="internal: the viewers' process")
    viewers.add_argument("--setup", required=True)
    viewers.add_argument("--n", type=int, required=True)
    viewers.add_argument("--mode", required=True)  # auto, push, fetch, or bare (/ws/events/)
    viewers.add_argument("--out", required=True)
    viewers.add_argument("--variants", type=int, required=True)
    parser.add_argument("--viewers", default="1,100,1000,2000")
    parser.add_argument("--mode", choices=("auto", "push", "fetch"), default="auto")
    parser.add_argument("--events", type=int, default=12)
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between changes")
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument(
        "--variants",
        type=int,
        choices=range(1, 9),
        default=8,
        help="panel variants among the viewers (4 roles x 2 languages; 1 viewer shows 1)",
    )
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--database", default="bench_dashboard_viewers")
    parser.add_argument("--timeout", type=float, default=600, help="per phase, seconds")
    parser.add_argument("--no-storm", dest="storm", action="store_false")
    parser.add_argument(
        "--no-bare",
        dest="bare",
        action="store_false",
        help="skip the baseline phase (N clients of /ws/events/ alone) before the dashboards",
    )
    args = parser.parse_args()
    if args.role == "viewers":
        client_main(args)
    else:
        driver_main(args)


if __name__ == "__main__":
    main()
