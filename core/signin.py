"""One limiter for every way in: the sign-in page, the admin's sign-in page and the API's token
endpoint all ask ``wait_seconds`` before checking a password and report how it went.

Failures are counted twice, per username (guessing one account from many addresses) and per
client address (spraying many usernames from one address). Past a few free failures each further
attempt on that counter must wait twice as long as the last (capped); the longer of the two waits
applies. Counters live in the shared cache (settings.CACHES: Redis or the database), so every web
process sees the same counts and a restart forgets nothing. Failures are logged for whoever
watches for guessing; the password never is.

An admitted attempt counts as a failure until it reports how it went: otherwise many requests
sent at once would all find the counters low, and each get a guess. Each counter is read and
written under a short lock taken with ``cache.add`` (atomic on Redis and on the database cache),
so no update is lost between web processes (core/limits.py).
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from core.limits import Busy, cache_key, locked

log = logging.getLogger("breach_desk.login")
# Form fields and JSON keys are cut to this before they are counted or logged.
USERNAME_MAX = 150
# Longest an admitted attempt counts as in flight (a password check takes well under this).
TURN_SECONDS = 10


def client_address(request: Any) -> str:
    """REMOTE_ADDR only: X-Forwarded-For is whatever the client wrote (a new value per request
    would be a new allowance). Behind the compose stack's nginx, daphne --proxy-headers puts the
    client's address there."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(kind: str, value: str) -> str:
    # Hashed: a cache key must be short and printable, and the cache need not hold usernames.
    return cache_key(f"signin:{kind}", value)


def _counters(address: str, username: str) -> list[tuple[str, int]]:
    """(cache key, free failures) for each counter an attempt counts against, the username's
    first (the order locks are taken in)."""
    name = username.strip().lower()[:USERNAME_MAX]
    return [
        (_key("user", name), settings.LOGIN_FAILURES_BEFORE_DELAY),
        (_key("address", address), settings.LOGIN_ADDRESS_FAILURES_BEFORE_DELAY),
    ]


class Counter:
    """One counter as the cache holds it: a plain tuple, so no pickled class ties a stored value
    to this module's code."""

    def __init__(self, failures: int = 0, last: float = 0.0, in_flight: Any = ()) -> None:
        self.failures = failures
        self.last = last  # when the last failure was recorded
        self.in_flight = list(in_flight)  # when each admitted attempt began

    @classmethod
    def load(cls, key: str, now: float) -> Counter:
        stored = cache.get(key)
        counter = cls(*stored) if isinstance(stored, tuple) else cls()
        counter.in_flight = [t for t in counter.in_flight if now - t < TURN_SECONDS]
        return counter

    def store(self, key: str) -> None:
        # Each change restarts the window, so a patient guesser never starts from zero.
        value = (self.failures, self.last, tuple(self.in_flight))
        cache.set(key, value, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _wait(counter: Counter, free: int, now: float) -> float:
    """Seconds an attempt must wait on this counter (0: it may go now)."""
    if counter.failures + len(counter.in_flight) < free:
        return 0
    if counter.failures >= free:
        delay = min(2 ** (counter.failures - free), settings.LOGIN_MAX_DELAY_SECONDS)
        if counter.last + delay > now:
            return counter.last + delay - now
    # Past the free failures, one attempt at a time; the others wait for it to report.
    return 1 if counter.in_flight else 0


def wait_seconds(address: str, username: str, now: float | None = None) -> int:
    """Seconds this attempt must still wait before its password is even checked. 0: go ahead;
    the attempt is then in flight, and must end with ``record_failure`` or ``record_success``."""
    now = time.time() if now is None else now
    counters = _counters(address, username)
    try:
        with ExitStack() as locks:
            for key, _free in counters:
                locks.enter_context(locked(key))
            loaded = [Counter.load(key, now) for key, _free in counters]
            wait = max(_wait(c, free, now) for c, (_k, free) in zip(loaded, counters, strict=True))
            if wait > 0:
                return int(wait + 0.999)
            for counter, (key, _free) in zip(loaded, counters, strict=True):
                counter.in_flight.append(now)
                counter.store(key)
    except Busy:
        return 1
    return 0


def _report(address: str, username: str, *, failed: bool) -> list[int]:
    """Ends one in-flight attempt on both counters; returns each counter's failures."""
    now = time.time()
    counts = []
    for index, (key, _free) in enumerate(_counters(address, username)):
        try:
            with locked(key):
                counter = Counter.load(key, now)
                if counter.in_flight:
                    counter.in_flight.pop(0)
                if failed:
                    counter.failures, counter.last = counter.failures + 1, now
                elif index == 0:
                    # The name starts over; the address does not, so one valid account of a
                    # sprayer's does not buy it a fresh allowance for the others.
                    counter.failures, counter.last = 0, 0.0
                counter.store(key)
                counts.append(counter.failures)
        except Busy:
            # Under a flood the attempt still ends: its in-flight mark expires (TURN_SECONDS).
            log.warning("sign-in counter busy: an attempt's outcome was not recorded")
            counts.append(-1)
    return counts


def record_failure(address: str, username: str, entry: str) -> None:
    """Count a wrong password (or unknown username) against both counters and log it.
    ``entry`` names the way in ("page", "admin", "api") for the log."""
    counts = _report(address, username, failed=True)
    log.warning(
        "sign-in failed via %s for %r from %s (%d recent failures for the name, %d for the "
        "address)",
        entry,
        username[:USERNAME_MAX],
        address,
        *counts,
    )


def record_success(address: str, username: str) -> None:
    _report(address, username, failed=False)


def refusal_message(wait: int) -> str:
    return _("Too many failed attempts. Wait %(seconds)d seconds and try again.") % {
        "seconds": wait
    }


def refusal_body(wait: int) -> dict[str, Any]:
    """The API's 429 body; the pages show ``refusal_message`` with the same status."""
    return {"detail": refusal_message(wait), "retry_after": wait}
