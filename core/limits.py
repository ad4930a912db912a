"""Counters in the shared cache (settings.CACHES: Redis or the database), so every web process
sees the same counts and a restart forgets none: a short lock held in the cache, and a quota of
"at most N in any window of S seconds".

The lock is ``cache.add`` (atomic on Redis and on the database cache): each counter is read and
written under it, so no update is lost between web processes. The sign-in limiter
(core/signin.py) and the public "Am I affected?" check (incidents/affected/checks.py) count
with these. Knows no app.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from django.core.cache import cache

# A counter's lock: held for one read and one write; given up after LOCK_PATIENCE seconds.
LOCK_SECONDS = 5
LOCK_PATIENCE = 2.0


class Busy(Exception):
    """A counter's lock could not be had in time: the attempt is refused, never let through."""


@contextmanager
def locked(key: str) -> Iterator[None]:
    """Hold the cache lock of ``key`` (Busy after LOCK_PATIENCE seconds of waiting)."""
    lock, owner = f"{key}:lock", secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_PATIENCE
    while not cache.add(lock, owner, LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise Busy(key)
        time.sleep(0.01)
    try:
        yield
    finally:
        # Not someone else's: a lock held past LOCK_SECONDS may have expired and been taken.
        if cache.get(lock) == owner:
            cache.delete(lock)


def cache_key(prefix: str, value: str) -> str:
    """A short, printable key for ``value`` (hashed: the cache need not hold what is counted,
    an address or a username)."""
    return f"{prefix}:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Quota:
    """At most ``most`` takes of ``key`` in any ``seconds``."""

    key: str
    most: int
    seconds: int


def take(quotas: Sequence[Quota], now: float | None = None) -> float:
    """Count one take against every quota, or none of them: 0 when each had room (each now
    counts it), else the seconds until the fullest has room again (nothing counted). The
    quotas' locks are taken in the order given, so callers name them in one fixed order.
    Busy (refused) when a lock cannot be had in time."""
    now = time.time() if now is None else now
    with ExitStack() as locks:
        for quota in quotas:
            locks.enter_context(locked(quota.key))
        taken = [_recent(quota, now) for quota in quotas]
        wait = max(
            (
                times[len(times) - quota.most] + quota.seconds - now
                for quota, times in zip(quotas, taken, strict=True)
                if len(times) >= quota.most
            ),
            default=0.0,
        )
        if wait > 0:
            return wait
        for quota, times in zip(quotas, taken, strict=True):
            cache.set(quota.key, (*times, now), quota.seconds)
    return 0.0


def _recent(quota: Quota, now: float) -> list[float]:
    """The takes of the quota's last window, oldest first (a plain tuple in the cache, so no
    pickled class ties a stored value to this module's code)."""
    stored = cache.get(quota.key)
    times = stored if isinstance(stored, tuple) else ()
    return [t for t in times if isinstance(t, float) and now - t < quota.seconds]
