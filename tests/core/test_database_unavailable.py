"""A database that stops answering mid-request is a 503 with Retry-After, on every kind of
request, with nothing half-written (core/db_outage.py). Runs on SQLite and PostgreSQL alike:
the failure comes from Django's documented execute_wrapper, as a lost connection raises it;
tests/core/test_database_outage.py stops a real PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from core.db_outage import RETRY_AFTER_SECONDS
from core.models import ApiToken
from incidents.models import Event, Incident

MARKER = "body-must-not-be-logged-7c1e"


@contextmanager
def database_fails(when: Callable[[str], bool] = lambda sql: True) -> Iterator[None]:
    """Every query for which `when(sql)` holds fails as a dropped connection does."""

    def fail(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if when(sql):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


def _api(user: Any) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)[1]}")
    return client


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.mark.django_db
def test_an_api_read_is_a_503_when_the_database_is_gone(users) -> None:
    client = _api(users["engineer"])
    with database_fails():
        response = client.get("/api/incidents/", HTTP_ACCEPT_LANGUAGE="en")
    _assert_unavailable(response)
    assert response.json() == {"detail": "The database is unavailable. Try again in a moment."}


@pytest.mark.django_db
def test_a_write_that_loses_the_database_half_way_leaves_nothing(users, caplog) -> None:
    """The incident's row is inserted, then the event log's insert fails: the transaction
    rolls back, so neither exists; the failure is logged once, without the body."""
    client = _api(users["engineer"])
    before = Incident.objects.count(), Event.objects.count()
    event_table = Event._meta.db_table
    with (
        caplog.at_level(logging.ERROR),
        database_fails(
            lambda sql: sql.lstrip().upper().startswith("INSERT") and event_table in sql
        ),
    ):
        response = client.post(
            "/api/incidents/", {"title": MARKER, "severity": "high"}, format="json"
        )
    _assert_unavailable(response)
    assert "detail" in response.json()
    assert (Incident.objects.count(), Event.objects.count()) == before
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert MARKER not in caplog.text


@pytest.mark.django_db
def test_a_page_is_a_503_page_in_the_users_language(users) -> None:
    """The session and the user are read by middleware, before any view: that failure too."""
    client = Client(raise_request_exception=False)
    client.force_login(users["engineer"])
    with database_fails():
        response = client.get("/incidents/", HTTP_ACCEPT_LANGUAGE="fa")
    _assert_unavailable(response)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'lang="fa"' in page and 'dir="rtl"' in page
    assert "پایگاه داده" in page


@pytest.mark.django_db
def test_other_server_errors_stay_500(users, monkeypatch) -> None:
    client = _api(users["engineer"])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("incidents.api.views.IncidentViewSet.list", broken)
    response = client.get("/api/incidents/")
    assert response.status_code == 500
    assert "Retry-After" not in response
