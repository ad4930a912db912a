"""Each HTTP response is closed once sent (core/wsgi_close.py), so Django ends the request:
``request_finished`` fires (old connections closed, uploads' temporary files deleted) and a
file response's file is closed. If asgiref's WsgiToAsgi starts closing responses itself, the
second test fails and the workaround can go."""

from __future__ import annotations

import pytest
from asgiref.testing import ApplicationCommunicator
from asgiref.wsgi import WsgiToAsgi
from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

from core.wsgi_close import closing_responses

# Django checks the request thread's old connections at a request's start and end.
pytestmark = [pytest.mark.urls("tests.core.request_thread_urls"), pytest.mark.django_db]


async def finished_requests(app) -> int:
    finished: list[object] = []

    def count(sender: object, **kwargs: object) -> None:
        finished.append(sender)

    request_finished.connect(count)
    try:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "path": "/thread/",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1234),
        }
        talk = ApplicationCommunicator(app, scope)
        await talk.send_input({"type": "http.request", "body": b""})
        start = await talk.receive_output(5)
        assert start["status"] == 200
        while (await talk.receive_output(5)).get("more_body"):
            pass
        await talk.wait(5)
    finally:
        request_finished.disconnect(count)
    return len(finished)


async def test_each_response_is_closed_so_django_ends_the_request():
    assert await finished_requests(WsgiToAsgi(closing_responses(get_wsgi_application()))) == 1


async def test_without_it_asgiref_would_never_close_the_response():
    """The reason for the module."""
    assert await finished_requests(WsgiToAsgi(get_wsgi_application())) == 0


def test_a_response_cut_short_is_closed_too():
    closed: list[bool] = []

    class Body(list):
        def close(self) -> None:
            closed.append(True)

    app = closing_responses(lambda environ, start_response: Body([b"a", b"b", b"c"]))
    for _chunk in app({}, lambda *args: None):
        break  # a server that has sent Content-Length bytes stops reading
    assert closed == [True]
