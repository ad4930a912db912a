"""nginx in front of daphne, with the repo's own rules (deploy/nginx/): a huge body is refused
at the door before it reaches any disk, evidence uploads still pass, a client cannot choose the
address the app sees, and the live stream works through it.

Debian's nginx and a real daphne run on loopback ports; the templates are rendered the way the
nginx image renders them (envsubst of ${NGINX_...} names, after sourcing the entrypoint's
.envsh), so these are the very lines production runs."""

from __future__ import annotations

import asyncio
import grp
import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from incidents.legal.evidence import MULTIPART_OVERHEAD
from tests.conftest import _skip_or_fail
from tests.processes import ROOT, free_port, running_daphne, stop, wait_for_port
from tests.stream.conftest import token_of
from tests.stream.servers import LiveClient, run_database_url, transition

pytestmark = [pytest.mark.e2e]

DEPLOY = ROOT / "deploy" / "nginx"
LIMITS_SCRIPT = DEPLOY / "entrypoint" / "19-breach-desk-limits.envsh"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GIB = 1 << 30
MIB = 1 << 20
EVIDENCE_MAX_BYTES = 2 * MIB  # small, so an upload above the 512 KiB page limit is quick
IMPORT_MAX_BYTES = 2 * MIB  # the register's CSV import, likewise
FORGED = "203.0.113.9"  # TEST-NET-3: an address no test machine has


def evidence_body_max(evidence_max_bytes: int | None) -> int:
    """What the nginx image's entrypoint exports: the .envsh sourced by a POSIX shell."""
    return _exported("NGINX_EVIDENCE_BODY_MAX", "EVIDENCE_MAX_BYTES", evidence_max_bytes)


def import_body_max(import_max_bytes: int | None) -> int:
    return _exported("NGINX_IMPORT_BODY_MAX", "AFFECTED_PEOPLE_IMPORT_MAX_BYTES", import_max_bytes)


def _exported(name: str, app_setting: str, app_value: int | None) -> int:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if app_value is not None:
        env[app_setting] = str(app_value)
    out = subprocess.run(
        ["sh", "-c", f'. "$0" && printf %s "${name}"', str(LIMITS_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    return int(out)


def render_templates(target: Path, values: dict[str, str]) -> None:
    """The nginx image's 20-envsubst-on-templates.sh with NGINX_ENVSUBST_FILTER=^NGINX_:
    templates/x.y.template -> conf.d/x.y, only defined ${NGINX_...} (or $NGINX_...) replaced."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values[name] if name.startswith("NGINX_") and name in values else match.group(0)

    for template in (DEPLOY / "templates").rglob("*.template"):
        out = target / "conf.d" / template.relative_to(DEPLOY / "templates").with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        text = template.read_text()
        out.write_text(re.sub(r"\$(?:\{(\w+)\}|(\w+))", substitute, text))


@dataclass
class Stack:
    nginx: str  # base URL through nginx
    direct: str  # base URL of daphne itself
    nginx_port: int
    nginx_pid: int
    daphne_pid: int
    nginx_temp: Path
    daphne_tmp: Path
    daphne_log: Path


def _nginx_conf(prefix: Path, port: int, upstream_port: int) -> str:
    # When the test runs as root, nginx's workers drop to nobody, as in production they drop to
    # the image's nginx user; the master creates the temp dirs and hands them over.
    user = ""
    if os.geteuid() == 0:
        group = "nogroup" if _group_exists("nogroup") else "nobody"
        user = f"user nobody {group};"
    temp = prefix / "temp"
    return f"""
{user}
worker_processes 1;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    # The http level's own paths, so nothing falls back to Debian's /var/lib/nginx.
    client_body_temp_path {temp}/http_client_body;
    proxy_temp_path {temp}/http_proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream breach_desk_web {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{port};
        include conf.d/breach-desk/locations.inc;
    }}
}}
"""


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


@contextmanager
def nginx_process(prefix: Path, port: int, upstream_port: int) -> Iterator[int]:
    """Yields the master PID of nginx serving the repo's rules on loopback `port`."""
    (prefix / "temp").mkdir(parents=True)
    render_templates(
        prefix,
        {
            "NGINX_EVIDENCE_BODY_MAX": str(evidence_body_max(EVIDENCE_MAX_BYTES)),
            "NGINX_IMPORT_BODY_MAX": str(import_body_max(IMPORT_MAX_BYTES)),
            "NGINX_TEMP_DIR": str(prefix / "temp"),
        },
    )
    conf = prefix / "nginx.conf"
    conf.write_text(_nginx_conf(prefix, port, upstream_port))
    log = prefix / "error.log"
    command = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(log)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(
        [*command, "-g", f"daemon off; pid {prefix}/nginx.pid;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, log)
        yield proc.pid
    finally:
        stop(proc)


@contextmanager
def daphne_process(tmp: Path, public_base: str) -> Iterator[tuple[int, int, Path, Path]]:
    """Yields (port, PID, private TMPDIR, log) of daphne --proxy-headers on this run's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))}
    private_tmp = tmp / "daphne-tmp"
    private_tmp.mkdir()
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        # The test's own key: API tokens are bound to it (core.models.ApiToken).
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_CSRF_TRUSTED_ORIGINS=public_base,
        DJANGO_SECURE_COOKIES="0",
        # The test's nginx listens on plain http (X-Forwarded-Proto: http): no redirect to https.
        DJANGO_SSL_REDIRECT="0",
        PUBLIC_BASE_URL=public_base,
        DATABASE_URL=run_database_url(),
        BREACH_DESK_VAR_DIR=str(tmp),
        EVIDENCE_MAX_BYTES=str(EVIDENCE_MAX_BYTES),
        AFFECTED_PEOPLE_IMPORT_MAX_BYTES=str(IMPORT_MAX_BYTES),
        STREAM_HEARTBEAT_SECONDS="1",
        TELEGRAM_BOT_TOKEN="",
        TMPDIR=str(private_tmp),
        PYTHONUNBUFFERED="1",  # the access log is read while daphne runs
        PYTHONPATH=str(ROOT),
    )
    log = tmp / "daphne.log"
    options = ("--proxy-headers", "--access-log", "-")
    with running_daphne(env, log, *options) as (port, proc):
        yield port, proc.pid, private_tmp, log


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None) -> Iterator[Stack]:
    """One daphne and one nginx for the module, on the test database (django_db_setup)."""
    if not os.access(NGINX, os.X_OK):
        _skip_or_fail(f"nginx is not installed ({NGINX}); apt-get install nginx (.ci/run does)")
    # Not under pytest's 0700 tmp_path: nginx's workers (nobody, when run as root) must reach
    # their temp dirs.
    prefix = Path(tempfile.mkdtemp(prefix="breach-desk-nginx-"))
    prefix.chmod(0o755)
    try:
        nginx_port = free_port()
        public = f"http://127.0.0.1:{nginx_port}"
        tmp_path = tmp_path_factory.mktemp("nginx-in-front")
        with daphne_process(tmp_path, public) as (web_port, web_pid, web_tmp, web_log):
            with nginx_process(prefix / "nginx", nginx_port, web_port) as pid:
                yield Stack(
                    nginx=public,
                    direct=f"http://127.0.0.1:{web_port}",
                    nginx_port=nginx_port,
                    nginx_pid=pid,
                    daphne_pid=web_pid,
                    nginx_temp=prefix / "nginx" / "temp",
                    daphne_tmp=web_tmp,
                    daphne_log=web_log,
                )
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def files_on_disk(dirs: list[Path], pids: list[int]) -> dict[str, int]:
    """What the temp dirs hold, by name: files still named there, and files open by the
    processes whose path is in them (nginx and Python unlink their temp files at once, but the
    blocks stay written until the descriptor closes)."""
    found: dict[str, int] = {}
    for root in dirs:
        for path in root.rglob("*"):
            try:
                if path.is_file():
                    found[str(path)] = path.stat().st_size
            except OSError:
                continue
    prefixes = tuple(f"{root}/" for root in dirs)
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
                if target.startswith(prefixes):
                    found[f"{pid}:{target}"] = os.stat(fd).st_size
            except OSError:
                continue
    return found


class DiskWatch:
    """Samples files_on_disk every few milliseconds while a request is sent; keeps the peak of
    what was not there before it (an earlier test's upload may still be held by daphne)."""

    def __init__(self, stack: Stack) -> None:
        self.dirs = [stack.nginx_temp, stack.daphne_tmp]
        self.pids = [stack.nginx_pid, *_children(stack.nginx_pid), stack.daphne_pid]
        self.peak = 0
        self.at_peak: dict[str, int] = {}
        self._before = set(files_on_disk(self.dirs, self.pids))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self) -> None:
        found = {
            name: size
            for name, size in files_on_disk(self.dirs, self.pids).items()
            if name not in self._before
        }
        if sum(found.values()) > self.peak:
            self.peak, self.at_peak = sum(found.values()), found

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.005)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()


def push_body(port: int, path: str, *, chunked: bool, total: int = GIB) -> tuple[int, int]:
    """POSTs a `total`-byte body (announced by Content-Length, or chunked without it) as fast as
    the server takes it, stopping as soon as an answer arrives. Returns (status, body bytes the
    client managed to send)."""
    piece = b"x" * 65536
    frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n\r\n"
    ).encode()
    sent, deadline = 0, time.monotonic() + 120
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        pending = b""
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if not writable:
                continue
            pending = pending or frame
            try:
                n = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent, pending = sent + n, pending[n:]
        sock.setblocking(True)
        sock.settimeout(30)
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1."), f"no answer after {sent} bytes: {answer[:200]!r}"
    return int(answer.split()[1]), sent


def test_the_envsh_limit_is_the_apps_evidence_limit() -> None:
    """The shell sum in the entrypoint script and the app's body limit must not drift apart."""
    assert evidence_body_max(None) == 100 * MIB + MULTIPART_OVERHEAD
    assert evidence_body_max(EVIDENCE_MAX_BYTES) == EVIDENCE_MAX_BYTES + MULTIPART_OVERHEAD
    assert import_body_max(None) == 32 * MIB + MULTIPART_OVERHEAD
    assert import_body_max(IMPORT_MAX_BYTES) == IMPORT_MAX_BYTES + MULTIPART_OVERHEAD


# The nginx image's own /etc/nginx/nginx.conf (nginx:1.27), which the connections script edits.
IMAGE_NGINX_CONF = """
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    default_type  application/octet-stream;
    keepalive_timeout  65;
    include /etc/nginx/conf.d/*.conf;
}
"""


def test_the_connections_script_raises_worker_connections(tmp_path: Path) -> None:
    """Thousands of open dashboards take two connections each through nginx: the entrypoint
    script raises the image's 1,024 per worker (and the workers' file limit), once however
    often the container starts, into a configuration nginx accepts."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(IMAGE_NGINX_CONF)
    script = DEPLOY / "entrypoint" / "30-breach-desk-connections.sh"
    assert os.access(script, os.X_OK), "the image's entrypoint runs only executable scripts"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NGINX_CONF": str(conf)}
    for _ in range(2):  # a restarted container runs it again
        subprocess.run([str(script)], env=env, check=True, timeout=10)
    text = conf.read_text()
    assert re.findall(r"worker_connections\s+(\d+);", text) == ["8192"]
    assert re.findall(r"^worker_rlimit_nofile (\d+);", text, re.MULTILINE) == ["16384"]
    if not Path(NGINX).exists():
        _skip_or_fail("nginx is not installed (apt-get install nginx)")
    checked = text.replace("user  nginx;", "").replace("/var/log/nginx", str(tmp_path))
    checked = checked.replace("/var/run/nginx.pid", str(tmp_path / "nginx.pid"))
    checked = checked.replace("include /etc/nginx/conf.d/*.conf;", "")
    (tmp_path / "checked.conf").write_text(checked)
    done = subprocess.run(
        [NGINX, "-t", "-c", str(tmp_path / "checked.conf")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # Another number on a later start: both lines follow it.
    more = {**env, "NGINX_WORKER_CONNECTIONS": "20000"}
    subprocess.run([str(script)], env=more, check=True, timeout=10)
    text = conf.read_text()
    assert re.findall(r"worker_connections\s+(\d+);", text) == ["20000"]
    assert re.findall(r"^worker_rlimit_nofile (\d+);", text, re.MULTILINE) == ["40000"]


@pytest.mark.parametrize(
    ("path", "chunked"),
    [
        ("/telegram/webhook/", False),
        ("/telegram/webhook/", True),
        ("/api/incidents/", False),
        ("/api/incidents/", True),
        ("/login/", True),
        ("/api/incidents/INC-2026-0001/evidence/", False),  # above the evidence limit
        ("/api/incidents/INC-2026-0001/affected-people/import/", False),  # above the import's
    ],
)
def test_a_gigabyte_body_is_refused_before_a_mebibyte_is_written(
    stack: Stack, path: str, chunked: bool
) -> None:
    logged = len(stack.daphne_log.read_bytes())
    with DiskWatch(stack) as watch:
        status, sent = push_body(stack.nginx_port, path, chunked=chunked)
    assert status == 413
    assert sent < GIB, "nginx took the whole body before refusing it"
    assert watch.peak < MIB, f"written: {watch.at_peak} (client sent {sent})"
    assert path not in stack.daphne_log.read_bytes()[logged:].decode(), "it reached daphne"


@pytest.mark.django_db(transaction=True)
def test_evidence_under_the_limit_passes_through_nginx(stack: Stack, users, incident_in) -> None:
    incident = incident_in("scoping")
    token = token_of(users["legal"])
    content = os.urandom(EVIDENCE_MAX_BYTES - 4096)  # above every other location's 512 KiB
    boundary = "breach-desk-e2e"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\nlogs\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{stack.nginx}/api/incidents/{incident.reference}/evidence/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        stored = json.loads(response.read())
    assert stored["size"] == len(content)
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_a_register_import_under_the_limit_passes_through_nginx(
    stack: Stack, users, incident_in
) -> None:
    incident = incident_in("scoping")
    rows = "".join(f"C-{i},p{i}@example.com\r\n" for i in range(40_000))
    content = f"customer_id,email\r\n{rows}".encode()
    assert 512 * 1024 < len(content) < IMPORT_MAX_BYTES  # above every other location's limit
    boundary = "breach-desk-e2e"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{stack.nginx}/api/incidents/{incident.reference}/affected-people/import/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Token {token_of(users['legal'])}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200
        assert json.loads(response.read())["imported"] == 40_000


async def _address_seen(stack: Stack, base: str, token: str) -> str:
    """Opens the stream at `base` with a forged X-Forwarded-For and returns the client address
    daphne logged for it. daphne reads the address from the same proxy headers for websockets
    and HTTP (every location includes breach-desk/proxy-headers.inc), puts it in the scope, and
    Django makes it REMOTE_ADDR, what the login and API throttles count by. (The websocket's
    WSCONNECT line is written at connect; an HTTP request's line can be lost when the client
    leaves before daphne's last, empty body message.)"""
    import websockets

    logged = len(stack.daphne_log.read_bytes())
    async with websockets.connect(
        "ws" + base.removeprefix("http") + "/ws/events/",
        additional_headers={"Authorization": f"Token {token}", "X-Forwarded-For": FORGED},
        origin=stack.nginx,
        open_timeout=10,
    ) as socket_:
        assert json.loads(await asyncio.wait_for(socket_.recv(), 10))["type"] == "hello"
    for _ in range(100):
        for line in stack.daphne_log.read_bytes()[logged:].decode().splitlines():
            if '"WSCONNECT /ws/events/"' in line:
                return line.split(" ", 1)[0].rsplit(":", 1)[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no WSCONNECT logged: {stack.daphne_log.read_text()[-2000:]}")


@pytest.mark.django_db(transaction=True)
def test_a_forged_forwarded_for_is_not_the_address_the_app_sees(stack: Stack, users) -> None:
    token = token_of(users["executive"])
    assert asyncio.run(_address_seen(stack, stack.nginx, token)) == "127.0.0.1"
    # The control: daphne does believe the header from whoever reaches it, which is why only
    # nginx may (docker-compose.yml publishes no web port).
    assert asyncio.run(_address_seen(stack, stack.direct, token)) == FORGED


@pytest.mark.django_db(transaction=True)
def test_the_live_stream_works_through_nginx(stack: Stack, users, incident_in) -> None:
    incident = incident_in("detected")
    executive, engineer = token_of(users["executive"]), token_of(users["engineer"])

    async def scenario() -> None:
        client = LiveClient(stack.nginx, executive)
        await client.connect()
        try:
            await transition(stack.nginx, engineer, incident.reference, "start_scoping")
            frame = await client.receive()
            assert frame["event"]["kind"] == "start_scoping"
            assert frame["incident"]["reference"] == incident.reference
        finally:
            await client.close()

    asyncio.run(scenario())


def test_the_production_server_blocks_are_valid_nginx(tmp_path: Path) -> None:
    """default.conf.template (TLS on 443, port 80 redirecting) as the image renders it, under a
    main config shaped like the image's; only the certificate's directory is moved here."""
    if not os.access(NGINX, os.X_OK):
        _skip_or_fail(f"nginx is not installed ({NGINX}); apt-get install nginx (.ci/run does)")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs openssl for a throwaway certificate")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"]
        + ["-days", "1", "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (tmp_path / "temp").mkdir()
    render_templates(
        tmp_path,
        {
            "NGINX_EVIDENCE_BODY_MAX": str(evidence_body_max(None)),
            "NGINX_IMPORT_BODY_MAX": str(import_body_max(None)),
            "NGINX_TEMP_DIR": str(tmp_path / "temp"),
            "NGINX_UPSTREAM": "127.0.0.1:8000",
        },
    )
    server = tmp_path / "conf.d" / "default.conf"
    server.write_text(server.read_text().replace("/etc/nginx/tls/", f"{tls}/"))
    temp = tmp_path / "temp"
    (tmp_path / "nginx.conf").write_text(
        f"error_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        f"    client_body_temp_path {temp}/b; proxy_temp_path {temp}/p;\n"
        f"    fastcgi_temp_path {temp}/f; uwsgi_temp_path {temp}/u; scgi_temp_path {temp}/s;\n"
        "    include conf.d/*.conf;\n}\n"
    )
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        + ["-e", str(tmp_path / "error.log"), "-g", f"pid {tmp_path}/nginx.pid;"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
