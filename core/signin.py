"""One limiter for every way in: the sign-in page, the admin's sign-in page and the API's token
endpoint all ask ``wait_seconds`` before checking a password and report how it went.

Failures are counted twice, per username (guessing one account from many addresses) and per
client address (spraying many usernames from one address). Past a few free failures each further
attempt on that counter must wait twice as long as the last (capped); the longer of the two waits
applies. Counters live in the shared cache (settings.CACHES: Redis or the database), so every web
process sees the same counts and a restart forgets nothing. Failures are logged for whoever
watches for guessing; the password never is.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

log = logging.getLogger("breach_desk.login")
# Form fields and JSON keys are cut to this before they are counted or logged.
USERNAME_MAX = 150
# Longest an admitted attempt holds its turn (a password check takes well under this).
TURN_SECONDS = 10


def client_address(request: Any) -> str:
    """REMOTE_ADDR only: X-Forwarded-For is whatever the client wrote (a new value per request
    would be a new allowance). Behind the compose stack's nginx, daphne --proxy-headers puts the
    client's address there."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(kind: str, value: str) -> str:
    # Hashed: a cache key must be short and printable, and the cache need not hold usernames.
    return f"signin:{kind}:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def _counters(address: str, username: str) -> list[tuple[str, int]]:
    """(cache key, free failures) for each counter an attempt counts against."""
    name = username.strip().lower()[:USERNAME_MAX]
    return [
        (_key("user", name), settings.LOGIN_FAILURES_BEFORE_DELAY),
        (_key("address", address), settings.LOGIN_ADDRESS_FAILURES_BEFORE_DELAY),
    ]


def _delay(failures: int, free: int) -> int:
    if failures < free:
        return 0
    return min(2 ** (failures - free), settings.LOGIN_MAX_DELAY_SECONDS)


def wait_seconds(address: str, username: str, now: float | None = None) -> int:
    """Seconds this attempt must still wait before its password is even checked (0: go ahead,
    and the attempt has taken its turn)."""
    now = time.time() if now is None else now
    stored = cache.get_many([key for key, _free in _counters(address, username)])
    wait = 0.0
    turns = []
    for key, free in _counters(address, username):
        failures, last = stored.get(key, (0, 0.0))
        wait = max(wait, last + _delay(failures, free) - now)
        if failures >= free:
            turns.append(f"{key}:turn:{failures}:{last}")
    if wait > 0:
        return int(wait + 0.999)
    # Past the free failures, one attempt per turn (a turn ends with the next failure): many
    # requests sent at once would otherwise all find the wait over, and each get a guess.
    # cache.add is atomic on Redis and on the database cache.
    for turn in turns:
        if not cache.add(turn, 1, TURN_SECONDS):
            return 1
    return 0


def record_failure(address: str, username: str, entry: str) -> None:
    """Count a wrong password (or unknown username) against both counters and log it.
    ``entry`` names the way in ("page", "admin", "api") for the log."""
    now = time.time()
    counts = []
    for key, _free in _counters(address, username):
        failures, _last = cache.get(key, (0, 0.0))
        counts.append(failures + 1)
        # Each failure restarts the window, so a patient guesser never starts from zero.
        cache.set(key, (failures + 1, now), settings.LOGIN_FAILURE_WINDOW_SECONDS)
    log.warning(
        "sign-in failed via %s for %r from %s (%d recent failures for the name, %d for the "
        "address)",
        entry,
        username[:USERNAME_MAX],
        address,
        *counts,
    )


def record_success(address: str, username: str) -> None:
    """The name's counter starts over; the address's does not, so one valid account of a
    sprayer's does not buy it a fresh allowance for the others."""
    cache.delete(_counters(address, username)[0][0])


def refusal_message(wait: int) -> str:
    return _("Too many failed attempts. Wait %(seconds)d seconds and try again.") % {
        "seconds": wait
    }


def refusal_body(wait: int) -> dict[str, Any]:
    """The API's 429 body; the pages show ``refusal_message`` with the same status."""
    return {"detail": refusal_message(wait), "retry_after": wait}
