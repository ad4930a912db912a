"""Login throttling: after a few failures for one (address, username) each attempt must wait
longer (doubling, capped), and every failure is logged for whoever watches for guessing."""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("breach_desk.login")
WINDOW_SECONDS = 3600


def _key(address: str, username: str) -> str:
    raw = f"{address}|{username.strip().lower()}".encode()
    return "login-fail:" + hashlib.sha256(raw).hexdigest()


def wait_seconds(address: str, username: str, now: float | None = None) -> int:
    """Seconds this pair must still wait before another attempt is even checked (0: go ahead)."""
    failures, last = cache.get(_key(address, username), (0, 0.0))
    free = settings.LOGIN_FAILURES_BEFORE_DELAY
    if failures < free:
        return 0
    delay = min(2 ** (failures - free), settings.LOGIN_MAX_DELAY_SECONDS)
    remaining = last + delay - (now if now is not None else time.time())
    return max(0, int(remaining + 0.999))


def record_failure(address: str, username: str) -> int:
    key = _key(address, username)
    failures, _ = cache.get(key, (0, 0.0))
    failures += 1
    cache.set(key, (failures, time.time()), WINDOW_SECONDS)
    log.warning("login failed for %r from %s (%d recent failures)", username, address, failures)
    return failures


def record_success(address: str, username: str) -> None:
    cache.delete(_key(address, username))
