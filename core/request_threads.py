"""Django's HTTP handling on a fixed set of long-lived request threads (core.asgi uses it)."""

import asyncio
import weakref
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class _Lease(Executor):
    """Where a request's thread-sensitive work runs: the request thread it was lent."""

    def __init__(self) -> None:
        self.thread: ThreadPoolExecutor | None = None

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
    hold one), does all its synchronous work there, and gives it back; the others wait on the
    event loop.
    """

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = threads
        # Per event loop, as an asyncio queue belongs to one (tests run several loops).
        self._free: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _free_threads(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            free = self._free[loop] = asyncio.Queue()
            for n in range(self.threads):
                free.put_nowait(ThreadPoolExecutor(1, thread_name_prefix=f"request-{n}"))
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
