"""Settings come from the environment and fail loudly on bad values; users get roles by command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from core.env import env_bool, env_int, env_list
from core.roles import roles_of

ROOT = Path(__file__).resolve().parents[2]


def test_env_helpers_parse_and_reject(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True and env_int("X_INT", 1) == 12
    assert env_list("X_LIST") == ["a", "b", "c"]
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
    }
    clean.update(env)
    code = "import django; from django.conf import settings; settings.DATABASES; print('ok')"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "core.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "DJANGO_SECRET_KEY is required"),
        (
            {"DJANGO_SECRET_KEY": "s", "DJANGO_ALLOWED_HOSTS": "x", "DJANGO_DEBUG": "perhaps"},
            "DJANGO_DEBUG",
        ),
        ({"DJANGO_SECRET_KEY": "s"}, "DJANGO_ALLOWED_HOSTS is required"),
        ({"DJANGO_DEBUG": "1", "DATABASE_URL": "mysql://x/y"}, "not supported"),
        ({"DJANGO_DEBUG": "1", "TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"DJANGO_DEBUG": "1", "LANGUAGE_CODE": "de"}, "LANGUAGE_CODE"),
        ({"DJANGO_DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ],
)
def test_bad_configuration_is_a_clear_startup_error(env, message, tmp_path):
    result = load_settings(BREACH_DESK_VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_debug_default_configuration_loads(tmp_path):
    result = load_settings(DJANGO_DEBUG="1", BREACH_DESK_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_adduser_creates_a_user_with_a_role(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-passphrase\n"))
    call_command("adduser", "dana", "--role", "legal", "--password-stdin", stdout=io.StringIO())
    from django.contrib.auth.models import User

    dana = User.objects.get(username="dana")
    assert roles_of(dana) == {"legal"} and dana.check_password("a-long-enough-passphrase")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-passphrase\n"))
    with pytest.raises(CommandError, match="already exists"):
        call_command("adduser", "dana", "--role", "legal", "--password-stdin")


@pytest.mark.django_db
def test_adduser_refuses_weak_passwords_and_unknown_roles(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError):
        call_command("adduser", "weak", "--role", "engineer", "--password-stdin")
    with pytest.raises(CommandError):
        call_command("adduser", "x", "--role", "overlord", "--password-stdin")


@pytest.mark.django_db
def test_seed_demo_runs_once_through_the_domain(capsys):
    from incidents.models import Event, Incident

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo accounts" in out.getvalue()
    assert "  user       role       password\n" in out.getvalue()  # the columns are named
    states = set(Incident.objects.values_list("state", flat=True))
    assert {"detected", "scoping", "restoring", "referred", "dismissed"} <= states
    assert Event.objects.filter(kind="created").count() == Incident.objects.count()
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "already present" in again.getvalue()


def test_log_lines_are_stamped_in_utc_whatever_the_time_zone(settings):
    """The web and notifier processes run in TIME_ZONE, the runner in the machine's zone: every
    line says UTC so that one terminal's lines read in order."""
    import logging
    import time

    from core.logs import UTCFormatter

    record = logging.LogRecord("incidents", logging.INFO, __file__, 1, "hello", None, None)
    record.created, record.msecs = 1_795_000_000.25, 250.0
    zone = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tehran"  # what Django sets a process to by default
    time.tzset()
    try:
        assert time.strftime("%z") == "+0330"
        line = UTCFormatter().format(record)
    finally:
        if zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = zone
        time.tzset()
    assert line == "2026-11-18T11:06:40.250Z INFO incidents: hello"
    assert settings.LOGGING["formatters"]["plain"] == {"()": "core.logs.UTCFormatter"}
