"""Django's HTTP handling on a fixed set of long-lived request threads (core.asgi uses it)."""

import asyncio
import queue
import threading
import weakref
from concurrent.futures import Executor, Future
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler


class RequestThread:
    """One long-lived thread running submitted calls in order.

    A daemon thread, unlike ThreadPoolExecutor's: when the server stops its event loop (SIGTERM)
    with requests in flight, those requests wait for the loop forever, and the interpreter would
    wait for them at exit. Their transactions were not committed, so cutting them loses nothing.
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._calls.put((future, fn, args, kwargs))
        return future

    def stop(self) -> None:
        self._calls.put(None)

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn, args, kwargs = call
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting request, as an executor does
                future.set_exception(exc)


class _Lease(Executor):
    """Where a request's thread-sensitive work runs: the request thread it was lent."""

    def __init__(self) -> None:
        self.thread: RequestThread | None = None

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        if self.thread is None:  # Django does no such work before the body has arrived
            raise RuntimeError("request work submitted before a request thread was lent")
        return self.thread.submit(fn, *args, **kwargs)


class RequestThreadsHandler(ASGIHandler):
    """Django's ASGI handler on a fixed set of long-lived request threads, like a threaded WSGI
    server, instead of a new thread for every request.

    A fresh thread means a fresh database connection object whose per-connection caches are all
    cold, which cost a database-backed request more than its own queries; and under load dozens
    of such threads take turns on one interpreter, so a request holding a row lock (or SQLite's
    write lock) waits for its turn among all of them (bench/README.md, "Transitions"). Here a
    request borrows one of ``threads`` threads once its body has arrived (a slow upload does not
    hold one), runs Django's whole middleware chain and view there in one go, and gives it back;
    the others wait on the event loop.
    """

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = threads
        # Per event loop, as an asyncio queue belongs to one (tests run several loops).
        self._free: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def load_middleware(self, is_async: bool = False) -> None:
        """Build the synchronous chain, as under WSGI, whatever Django asks for.

        Django's ASGI handler builds an async chain; below the lowest middleware that is
        sync-only (ours are) the rest runs as coroutines on the event loop, and every hook of
        those middleware (``process_request``, ``process_response``) and the view itself then
        hops to the request thread and back. That was five round trips per request, about half
        of a light request's CPU (bench/README.md, "Sixth pass")."""
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: Any) -> Any:
        """The whole chain, middleware and view, in one trip to the request's thread."""
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    def _free_threads(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            free = self._free[loop] = asyncio.Queue()
            threads = [RequestThread(f"request-{n}") for n in range(self.threads)]
            for thread in threads:
                free.put_nowait(thread)
            weakref.finalize(loop, _stop_all, threads)  # a test's loop; the server's lives on
        return free

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # Django refuses it
            return
        free = self._free_threads()
        lease = _Lease()

        async def receive_then_borrow() -> dict:
            message = await receive()
            body_done = message["type"] == "http.request" and not message.get("more_body")
            if body_done and lease.thread is None:
                lease.thread = await free.get()
            return message

        try:
            async with ThreadSensitiveContext(executor=lease):
                await self.handle(scope, receive_then_borrow, send)
        finally:
            if lease.thread is not None:
                free.put_nowait(lease.thread)


def _stop_all(threads: list[RequestThread]) -> None:
    for thread in threads:
        thread.stop()
