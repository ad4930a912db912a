"""A request's sync work runs on one of a few long-lived daemon threads (core/request_threads.py):
if asgiref or Django stop honouring ThreadSensitiveContext(executor=...), this fails, and with it
the promise that SIGTERM ends a web process with requests in flight
(tests/e2e/test_web_shutdown.py) and the reuse of each thread's database connection."""

from __future__ import annotations

import json

import pytest
from asgiref.testing import ApplicationCommunicator
from asgiref.wsgi import WsgiToAsgi
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from core.request_threads import RequestThreads

pytestmark = pytest.mark.urls("tests.core.request_thread_urls")


async def get(app, path: str) -> dict:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    talk = ApplicationCommunicator(app, scope)
    await talk.send_input({"type": "http.request", "body": b""})
    start = await talk.receive_output(5)
    body = await talk.receive_output(5)
    assert start["status"] == 200, body
    return json.loads(body["body"])


async def test_views_run_on_the_same_few_daemon_threads():
    app = RequestThreads(WsgiToAsgi(get_wsgi_application()), threads=1)
    first, second = await get(app, "/thread/"), await get(app, "/thread/")
    assert first["daemon"] is True and first["name"] == "request-0"
    assert second == first


async def test_so_do_they_under_djangos_asgi_handler():
    ran = await get(RequestThreads(get_asgi_application(), threads=2), "/thread/")
    assert ran["daemon"] is True and ran["name"].startswith("request-")


async def test_without_it_django_would_use_a_thread_python_waits_for_at_exit():
    """The reason for the module: Django's default threads are not daemons."""
    ran = await get(get_asgi_application(), "/thread/")
    assert ran["daemon"] is False
