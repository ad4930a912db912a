"""Each HTTP request's synchronous work on a daemon thread, through asgiref's documented
``ThreadSensitiveContext(executor=...)``; Django's own ASGI handler runs unchanged inside.

Why: Django runs a request's synchronous code (sync-only middleware such as WhiteNoise, the
view) on a thread, and that code waits for the server's event loop now and then (async_to_sync:
between sync and async middleware, the live stream's push after a commit). When daphne stops its
loop on SIGTERM with requests in flight, those threads wait forever, and Python waits for every
non-daemon thread at exit: the process never ended (tests/e2e/test_web_shutdown.py). On a daemon
thread the stopped server exits at once. Cutting such a request loses nothing: its transaction
was not committed.
"""

from __future__ import annotations

import queue
import threading
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


class DaemonRequestThreads:
    """ASGI middleware: every HTTP request's thread-sensitive work runs on a daemon thread of
    its own (a new thread per request, as Django's handler makes one by default)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """An HTTP request (core/asgi.py mounts this on the "http" protocol only)."""
        executor = DaemonThreadExecutor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            executor.shutdown(wait=False)
