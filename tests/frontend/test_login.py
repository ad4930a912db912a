"""Sign-in and sign-out through the pages, with throttling of repeated failures."""

from __future__ import annotations

import logging

from django.test import Client

from tests.conftest import PASSWORD


def login(client: Client, password: str, username: str = "engineer"):
    return client.post("/login/", {"username": username, "password": password})


def test_login_with_the_right_password_lands_on_the_dashboard(users):
    client = Client()
    response = login(client, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_and_logged(users, caplog):
    with caplog.at_level(logging.WARNING, logger="breach_desk.login"):
        response = login(Client(HTTP_ACCEPT_LANGUAGE="en"), "nope")
    assert response.status_code == 200
    assert "Wrong username or password." in response.content.decode()
    assert any("sign-in failed via page for 'engineer'" in r.getMessage() for r in caplog.records)


def test_repeated_failures_slow_down_even_the_right_password(users, monkeypatch):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(3):
        assert login(client, "nope").status_code == 200
    from django.contrib.auth import forms as auth_forms

    checked = []
    real = auth_forms.authenticate
    monkeypatch.setattr(
        auth_forms, "authenticate", lambda *a, **k: checked.append(1) or real(*a, **k)
    )
    refused = login(client, PASSWORD)
    assert refused.status_code == 429
    assert checked == []  # refused before the password is even checked
    assert "Wait" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_throttle_is_per_username(users):
    client = Client()
    for _ in range(3):
        login(client, "nope", username="engineer")
    assert login(client, PASSWORD, username="legal").status_code == 302


def test_waiting_out_the_delay_lets_the_right_password_in(users, monkeypatch):
    from core import signin as throttle

    client = Client()
    for _ in range(3):
        login(client, "nope")
    real_time = throttle.time.time
    monkeypatch.setattr(throttle.time, "time", lambda: real_time() + 2)
    assert login(client, PASSWORD).status_code == 302
    monkeypatch.undo()
    assert throttle.wait_seconds("127.0.0.1", "engineer") == 0


def test_delay_doubles_and_is_capped(db, settings):
    from core import signin as throttle

    settings.LOGIN_MAX_DELAY_SECONDS = 10
    for _ in range(3):
        throttle.record_failure("10.0.0.1", "x", "page")
    first = throttle.wait_seconds("10.0.0.1", "x")
    throttle.record_failure("10.0.0.1", "x", "page")
    second = throttle.wait_seconds("10.0.0.1", "x")
    for _ in range(10):
        throttle.record_failure("10.0.0.1", "x", "page")
    assert (first, second) == (1, 2)
    assert throttle.wait_seconds("10.0.0.1", "x") == 10


def test_logout_needs_post_and_ends_the_session(users):
    client = Client()
    login(client, PASSWORD)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_page_session_ends_after_session_hours(users):
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE == 12 * 3600  # SESSION_HOURS' default, not two weeks
    client = Client()
    response = client.post("/login/", {"username": "engineer", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600
    assert 0 < client.session.get_expiry_age() <= 12 * 3600
