"""PostgreSQL goes away under a running daphne and comes back: meanwhile every request is a 503
with Retry-After and a JSON detail, nothing is written, and the very first write after the
restart succeeds (the pool checks each connection before handing it out: core/settings.py).

The test makes its own PostgreSQL cluster with initdb on a free loopback port (as the
unprivileged `postgres` user when run as root: initdb and postgres refuse root), so it can stop
and start it without touching anyone else's server."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core.db_outage import RETRY_AFTER_SECONDS
from tests.conftest import _skip_or_fail
from tests.processes import ROOT, free_port, running_daphne

pytestmark = [pytest.mark.e2e]

POOL_TIMEOUT = 2  # seconds a request waits for a connection during the outage


def _bin_dir() -> Path | None:
    found = shutil.which("initdb") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None
    )
    return Path(found).parent if found else None


class Cluster:
    """A private PostgreSQL cluster: initdb'd in a temp dir, started and stopped with pg_ctl."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.data, self.log = root / "data", root / "postgres.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(root, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bin_dir / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{command[0]}: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[Cluster]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        _skip_or_fail("needs PostgreSQL's initdb (Debian: postgresql; CI has it)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _skip_or_fail("running as root needs a `postgres` system user for initdb")
    root = Path(tempfile.mkdtemp(prefix="breach-desk-pg-"))
    cluster = Cluster(bin_dir, root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _env(cluster: Cluster, var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_URL", "CHANNELS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_SECRET_KEY="e2e-database-outage-only",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        # Plain http on loopback, no proxy in front: no redirect to https.
        DJANGO_SSL_REDIRECT="0",
        DATABASE_URL=cluster.url,
        # More idle connections than the outage's requests will touch: stale ones are left in
        # the pool for the first request after the restart.
        DATABASE_POOL_MIN="4",
        DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT),
        BREACH_DESK_VAR_DIR=str(var_dir),
        TELEGRAM_BOT_TOKEN="",
        PYTHONPATH=str(ROOT),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout


MAKE_ENGINEER = """
from django.contrib.auth.models import Group, User
from core.models import ApiToken
user = User.objects.create_user("oncall", password="correct-horse-battery-staple")
user.groups.add(Group.objects.get_or_create(name="engineer")[0])
print(ApiToken.issue(user)[1])
"""


@contextmanager
def daphne(env: dict[str, str], log: Path) -> Iterator[str]:
    with running_daphne(env, log) as (port, _proc):
        yield f"http://127.0.0.1:{port}"


def call(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, Any, Any]:
    """(status, headers, JSON body) of one API request."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept-Language": "en",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"null")


def test_a_database_outage_is_a_503_and_the_first_write_after_it_succeeds(tmp_path) -> None:
    with private_postgres() as cluster:
        env = _env(cluster, tmp_path)
        _manage(env, "migrate", "-v0")
        token = _manage(env, "shell", "-c", MAKE_ENGINEER).strip().splitlines()[-1]
        with daphne(env, tmp_path / "daphne.log") as base:
            incidents = f"{base}/api/incidents/"
            status, _, body = call("POST", incidents, token, {"title": "Before", "severity": "low"})
            assert status == 201, body
            assert call("GET", incidents, token)[0] == 200

            cluster.stop()
            during = [
                call("POST", incidents, token, {"title": "During", "severity": "high"}),
                call("GET", incidents, token),
            ]
            for status, headers, body in during:
                assert status == 503, body
                assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                assert body == {"detail": "The database is unavailable. Try again in a moment."}

            cluster.start()
            status, _, body = call("POST", incidents, token, {"title": "After", "severity": "low"})
            assert status == 201, body
            status, _, listed = call("GET", incidents, token)
            assert status == 200
            titles = sorted(item["title"] for item in listed["results"])
            assert titles == ["After", "Before"], "something was written during the outage"
