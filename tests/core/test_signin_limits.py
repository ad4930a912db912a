"""One limiter for every way in (core/signin.py): the sign-in page, the admin's sign-in page and
the token endpoint; per username and per address; doubling waits; counters in the shared cache."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Wr0ng-but-secret-guess-7Q"


def admin_login(client: Client, password: str, username: str = "admin"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_admin_login_refuses_the_right_password_after_wrong_ones_and_the_wait_grows(
    users, monkeypatch
):
    from django.contrib.auth import forms as auth_forms

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        assert admin_login(client, "nope").status_code == 200
    checked: list[int] = []
    real = auth_forms.authenticate
    monkeypatch.setattr(
        auth_forms, "authenticate", lambda *a, **k: checked.append(1) or real(*a, **k)
    )
    refused = admin_login(client, PASSWORD)
    assert refused.status_code == 429
    assert checked == []  # refused before the password is even checked
    assert "Wait 1 seconds" in refused.content.decode()
    assert refused.headers["Retry-After"] == "1"
    assert "_auth_user_id" not in client.session

    from core import signin

    later = signin.time.time() + 2
    monkeypatch.setattr(signin.time, "time", lambda: later)
    assert admin_login(client, "nope").status_code == 200  # the wait is over: checked, wrong
    again = admin_login(client, PASSWORD)
    assert again.status_code == 429 and again.headers["Retry-After"] == "2"


def test_admin_login_shows_the_wait_in_persian(users):
    client = Client(HTTP_ACCEPT_LANGUAGE="fa")
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        admin_login(client, "nope")
    refused = admin_login(client, PASSWORD)
    assert refused.status_code == 429
    assert "صبر کنید" in refused.content.decode()


def test_admin_login_with_the_right_password_still_works(users):
    client = Client()
    response = admin_login(client, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_spraying_many_usernames_from_one_address_is_slowed(users):
    client = Client()
    free = settings.LOGIN_ADDRESS_FAILURES_BEFORE_DELAY
    answers = [
        client.post("/login/", {"username": f"guess-{i}", "password": "Winter2026!"}).status_code
        for i in range(30)
    ]
    assert answers[:free] == [200] * free
    assert set(answers[free:]) == {429}
    # Even a real account's right password waits while its address is slowed.
    assert client.post("/login/", {"username": "engineer", "password": PASSWORD}).status_code == 429
    # Another address is not slowed by this one's spraying.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post("/login/", {"username": "engineer", "password": PASSWORD}).status_code == 302


def test_token_endpoint_answers_the_same_429_shape(users):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    url = "/api/auth/token/"
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        wrong = client.post(url, {"username": "engineer", "password": "nope"}, format="json")
        assert wrong.status_code == 400
    refused = client.post(url, {"username": "engineer", "password": PASSWORD}, format="json")
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "Too many failed attempts. Wait 1 seconds and try again.",
        "retry_after": 1,
    }
    assert refused.headers["Retry-After"] == "1"
    assert "token" not in refused.json()


def test_one_username_is_slowed_on_every_way_in_together(users):
    """The page, the admin and the API count against the same counters."""
    Client().post("/login/", {"username": "admin", "password": "nope"})
    admin_login(Client(), "nope")
    APIClient().post("/api/auth/token/", {"username": "admin", "password": "nope"}, format="json")
    assert Client().post("/login/", {"username": "admin", "password": PASSWORD}).status_code == 429


def test_a_username_is_slowed_from_any_address(users):
    for i in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        Client(REMOTE_ADDR=f"10.1.0.{i}").post("/login/", {"username": "legal", "password": "x"})
    fresh = Client(REMOTE_ADDR="10.2.0.1")
    assert fresh.post("/login/", {"username": "legal", "password": PASSWORD}).status_code == 429


def test_the_cache_is_shared_not_per_process_memory():
    backend = settings.CACHES["default"]["BACKEND"]
    expected = (
        "django.core.cache.backends.redis.RedisCache"
        if os.environ.get("REDIS_URL")
        else "django.core.cache.backends.db.DatabaseCache"
    )
    assert backend == expected


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_counters_written_by_another_process_are_seen_after_it_exits(users):
    """A second real process (a web process that then stopped) records the failures; this
    process, with its own cache connection, refuses the right password."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONPATH": str(ROOT),
    }
    script = (
        "import django; django.setup()\n"
        "from core import signin\n"
        "for _ in range(3): signin.record_failure('127.0.0.1', 'engineer', 'page')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=60)
    client = Client()
    assert client.post("/login/", {"username": "engineer", "password": PASSWORD}).status_code == 429


def test_failures_are_logged_without_the_password(users, caplog):
    with caplog.at_level(logging.DEBUG):
        Client().post("/login/", {"username": "engineer", "password": SECRET})
        admin_login(Client(), SECRET)
        APIClient().post(
            "/api/auth/token/", {"username": "legal", "password": SECRET}, format="json"
        )
    failures = [r for r in caplog.records if r.name == "breach_desk.login"]
    assert [r.getMessage().split(" for ")[0] for r in failures] == [
        "sign-in failed via page",
        "sign-in failed via admin",
        "sign-in failed via api",
    ]
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_a_username_that_is_no_string_is_a_400_not_a_500(db):
    response = APIClient().post(
        "/api/auth/token/", {"username": ["a"], "password": {"b": 1}}, format="json"
    )
    assert response.status_code == 400


def test_attempts_sent_at_once_after_the_wait_get_one_guess(db, monkeypatch):
    """Two requests that both arrive once the wait is over: only the first is checked."""
    from core import signin

    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY):
        signin.record_failure("10.3.0.1", "engineer", "api")
    later = signin.time.time() + 5
    assert signin.wait_seconds("10.3.0.1", "engineer", now=later) == 0
    assert signin.wait_seconds("10.3.0.1", "engineer", now=later) == 1
    assert signin.wait_seconds("10.3.0.2", "engineer", now=later) == 1  # the name's turn too
    monkeypatch.setattr(signin.time, "time", lambda: later)
    signin.record_failure("10.3.0.1", "engineer", "api")  # the turn's guess was wrong
    assert signin.wait_seconds("10.3.0.1", "engineer", now=later + 3) == 0  # the next turn


def test_a_burst_gets_no_more_guesses_than_the_free_failures(db):
    """Requests sent at once, none answered yet: each admitted one counts as a failure until it
    reports, so a burst of 30 usernames from one address gets the address's free failures."""
    from core import signin

    admitted = [signin.wait_seconds("10.4.0.1", f"user{i}") == 0 for i in range(30)]
    assert sum(admitted) == settings.LOGIN_ADDRESS_FAILURES_BEFORE_DELAY
    same_name = [signin.wait_seconds(f"10.5.0.{i}", "legal") == 0 for i in range(10)]
    assert sum(same_name) == settings.LOGIN_FAILURES_BEFORE_DELAY


@pytest.mark.django_db(transaction=True)
def test_failures_reported_at_once_from_many_threads_are_all_counted(users):
    """Each counter is read and written under its lock: 8 threads that were admitted together
    and fail together leave 8 failures, so the next attempt from that address waits."""
    import threading

    from django.db import connection

    from core import signin

    free = settings.LOGIN_ADDRESS_FAILURES_BEFORE_DELAY
    names = [f"spray{i}" for i in range(8)]
    assert all(signin.wait_seconds("10.6.0.1", name) == 0 for name in names)
    start = threading.Barrier(len(names))

    def fail(name: str) -> None:
        start.wait()
        try:
            signin.record_failure("10.6.0.1", name, "page")
        finally:
            connection.close()

    threads = [threading.Thread(target=fail, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    left = free - len(names)
    assert [signin.wait_seconds("10.6.0.1", f"next{i}") == 0 for i in range(left + 1)] == [
        True
    ] * left + [False]


def test_an_attempt_that_never_reports_stops_counting_after_a_while(db, monkeypatch):
    from core import signin

    monkeypatch.setattr(settings, "LOGIN_FAILURES_BEFORE_DELAY", 1)
    assert signin.wait_seconds("10.7.0.1", "engineer") == 0
    assert signin.wait_seconds("10.7.0.2", "engineer") == 1  # the first is still in flight
    later = signin.time.time() + signin.TURN_SECONDS + 1
    assert signin.wait_seconds("10.7.0.2", "engineer", now=later) == 0


def test_a_successful_sign_in_frees_its_turn_and_resets_the_name(users):
    client = Client(REMOTE_ADDR="10.8.0.1")
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY - 1):
        client.post("/login/", {"username": "legal", "password": "x"})
    assert client.post("/login/", {"username": "legal", "password": PASSWORD}).status_code == 302
    for _ in range(settings.LOGIN_FAILURES_BEFORE_DELAY - 1):
        Client(REMOTE_ADDR="10.8.0.2").post("/login/", {"username": "legal", "password": "x"})
    fresh = Client(REMOTE_ADDR="10.8.0.3")
    assert fresh.post("/login/", {"username": "legal", "password": PASSWORD}).status_code == 302
