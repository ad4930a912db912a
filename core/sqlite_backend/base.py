"""Django's SQLite backend, with writers of one process queued on a lock instead of SQLite's busy
handler, and raw connections reused across requests.

HTTP requests run on several threads (``WEB_REQUEST_THREADS``; Django's own ASGI handler uses a
new thread per request), so concurrent requests really do race for SQLite's single write lock.
SQLite's busy handler waits by sleeping in steps of up to 100 ms, which turned 32 concurrent
writers into multi-second tails (bench/README.md). Taking an in-process lock right before
``BEGIN IMMEDIATE`` lets the next writer start the moment the previous one commits. Writers in
other processes (the notifier worker) still meet SQLite's own lock and busy_timeout, so
correctness never depends on this lock.

Django also closes a request's connection at its end, so each request opened a new one: opening
one (functions registered, PRAGMAs run) cost ~2.5 ms, more than the transition's own queries.
Closed connections go back to a small per-file pool instead, outside any transaction.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_pools: dict[str, deque] = {}
POOL_SIZE = 16


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _pool(self) -> deque:
        with _locks_guard:
            return _pools.setdefault(str(self.settings_dict["NAME"]), deque(maxlen=POOL_SIZE))

    def get_new_connection(self, conn_params: dict) -> Any:
        if not self.is_in_memory_db():
            pool = self._pool()
            try:
                return pool.pop()  # deque.pop is atomic; an empty pool raises IndexError
            except IndexError:
                pass
        return super().get_new_connection(conn_params)

    def _write_lock(self) -> threading.Lock:
        with _locks_guard:
            return _locks.setdefault(str(self.settings_dict["NAME"]), threading.Lock())

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 30))
        if not self._write_lock().acquire(timeout=timeout):
            raise OperationalError("database is locked (waited for this process's writers)")
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self) -> Any:
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            raw = self.connection
            reusable = (
                raw is not None
                and not self.is_in_memory_db()
                and not self.errors_occurred
                and not raw.in_transaction
            )
            pool = self._pool() if reusable else None
            if pool is not None and len(pool) < POOL_SIZE:
                pool.append(raw)
                return None
            return super()._close()
        finally:
            self._release_write_lock()
