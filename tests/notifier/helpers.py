"""Building one alert text in a test, with only what the test is about spelled out."""

from __future__ import annotations

from typing import Any

from notifier.messages import alert_text

ALERT = {
    "language": "en",
    "kind": "created",
    "reference": "INC-2026-0001",
    "severity": "high",
    "state": "detected",
    "title": "",
    "actor": "",
}


def alert(**changes: Any) -> str:
    """``alert_text`` for a new high incident in English, with ``changes`` applied."""
    return alert_text(**{**ALERT, **changes})
