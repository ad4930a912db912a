"""The web process runs requests on a fixed set of reused threads (core.asgi)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core.request_threads import RequestThreadsHandler
from tests.core import request_threads_urls

pytestmark = pytest.mark.urls("tests.core.request_threads_urls")


def scope(method: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/busy/",
        "raw_path": b"/busy/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def request(app: RequestThreadsHandler, method: str, body: asyncio.Queue) -> int:
    """Run one request; its body arrives chunk by chunk through ``body``. Returns the status."""
    return (await answer(app, method, body))[0]


async def answer(
    app: RequestThreadsHandler, method: str, body: asyncio.Queue
) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk, more = await body.get()
        if chunk is None:  # after the body: the client stays until the response is sent
            await asyncio.Event().wait()
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope(method), receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])


def whole_body(data: bytes = b"") -> asyncio.Queue:
    body: asyncio.Queue = asyncio.Queue()
    body.put_nowait((data, False))
    body.put_nowait((None, False))
    return body


@pytest.fixture(autouse=True)
def counts() -> dict[str, int]:
    request_threads_urls.inside.update(now=0, most=0)
    return request_threads_urls.inside


async def test_no_more_requests_than_the_limit_run_django_at_once(counts, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    app = RequestThreadsHandler(threads=2)
    statuses = await asyncio.gather(*(request(app, "GET", whole_body()) for _ in range(6)))
    assert statuses == [200] * 6
    assert counts["most"] == 2


async def test_requests_reuse_the_same_threads(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    app = RequestThreadsHandler(threads=1)
    first = await answer(app, "GET", whole_body())
    second = await answer(app, "GET", whole_body())
    assert first[0] == second[0] == 200
    assert first[1]["thread"] == second[1]["thread"]


async def test_a_slow_upload_does_not_hold_a_turn(counts, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    app = RequestThreadsHandler(threads=1)
    upload: asyncio.Queue = asyncio.Queue()
    upload.put_nowait((b"first half ", True))
    slow = asyncio.create_task(request(app, "POST", upload))
    await asyncio.sleep(0.1)  # the upload is still arriving
    assert await asyncio.wait_for(request(app, "GET", whole_body()), timeout=10) == 200
    assert not slow.done()
    upload.put_nowait((b"second half", False))
    upload.put_nowait((None, False))
    assert await asyncio.wait_for(slow, timeout=10) == 200


async def test_the_middleware_chain_and_view_run_in_one_trip_to_the_request_thread(
    settings, monkeypatch
):
    """Django's async chain ran the middleware below ours as coroutines: each of their hooks
    and the view hopped to the thread and back (nine crossings in all, bench/README.md)."""
    from asgiref import sync

    settings.ALLOWED_HOSTS = ["testserver"]
    crossings: list[str] = []
    to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_to_thread(self: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append(getattr(self.func, "__qualname__", "?"))
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append("to the loop")
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_to_loop)
    status, _ = await answer(RequestThreadsHandler(threads=1), "GET", whole_body())
    assert status == 200
    assert crossings == [
        "Signal.asend.<locals>.sync_send",  # request_started
        "BaseHandler.get_response",  # every middleware and the view
        "HttpResponseBase.close",  # request_finished
    ]
