"""HTTP requests' synchronous work on a fixed set of long-lived daemon threads, through
asgiref's documented ``ThreadSensitiveContext(executor=...)``; Django runs unchanged inside.

Why: Django runs a request's synchronous code (sync-only middleware such as WhiteNoise, the
view) on a thread, and that code waits for the server's event loop now and then (async_to_sync:
between sync and async middleware, the live stream's push after a commit). When daphne stops its
loop on SIGTERM with requests in flight, those threads wait forever, and Python waits for every
non-daemon thread at exit: the process never ended (tests/e2e/test_web_shutdown.py). On a daemon
thread the stopped server exits at once. Cutting such a request loses nothing: its transaction
was not committed.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from concurrent.futures import Executor, Future
from typing import Any

from asgiref.sync import ThreadSensitiveContext


class DaemonThreadExecutor(Executor):
    """One daemon thread running submitted calls in order: what asgiref asks of an executor
    for thread-sensitive work (one call at a time, on one thread)."""

    def __init__(self, name: str = "request") -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._calls.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._calls.put(None)
        if wait:
            self.thread.join()

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
    """The executor a request's ThreadSensitiveContext is given: the request thread lent to it
    once its body has arrived (nothing thread-sensitive runs before that)."""

    def __init__(self) -> None:
        self.thread: DaemonThreadExecutor | None = None

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        if self.thread is None:
            raise RuntimeError("request work submitted before a request thread was lent")
        return self.thread.submit(fn, *args, **kwargs)


class RequestThreads:
    """ASGI middleware: each HTTP request's synchronous work on one of ``threads`` long-lived
    daemon threads, lent once its body has arrived (a slow upload holds none); the others wait
    on the event loop.

    Why a fixed set (bench/README.md, issue 16): a thread keeps its database connection
    between requests (CONN_MAX_AGE), and a few threads keep a request that holds a row lock (or
    SQLite's write lock) from waiting behind dozens of others for its turn on the interpreter:
    with a new thread for each of 32 concurrent writers, SQLite's sleeping busy handler made
    multi-second tails and clients gave up."""

    def __init__(self, app: Any, threads: int) -> None:
        self.app = app
        self.threads = threads
        # Per event loop, as an asyncio queue belongs to one (tests run several loops).
        self._free: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _free_threads(self) -> asyncio.Queue:
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            free = self._free[loop] = asyncio.Queue()
            threads = [DaemonThreadExecutor(f"request-{n}") for n in range(self.threads)]
            for thread in threads:
                free.put_nowait(thread)
            weakref.finalize(loop, _stop_all, threads)  # a test's loop; the server's lives on
        return free

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """An HTTP request (core/asgi.py mounts this on the "http" protocol only)."""
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
                await self.app(scope, receive_then_borrow, send)
        finally:
            if lease.thread is not None:
                free.put_nowait(lease.thread)


def _stop_all(threads: list[DaemonThreadExecutor]) -> None:
    for thread in threads:
        thread.shutdown(wait=False)
