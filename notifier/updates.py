"""The shape of a Telegram update, as far as the bot reads it (webhook and polling alike).

Telegram itself sends well-formed updates; anything else comes from a bug or a leaked webhook
secret. The shape is checked once, here, before anything is written, so the handlers in
``bot.py`` can trust every field they read instead of guarding each lookup. Fields the bot does
not read are not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# A field's check is a predicate or a nested shape; a shape maps field -> (check, required).
Check = Callable[[Any], bool] | dict[str, tuple[Any, bool]]


class MalformedUpdate(ValueError):
    """An update the bot cannot read. ``reason`` names the field, never its value (the value
    may be anything, including text a log stream cannot encode)."""

    def __init__(self, reason: str, update_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.update_id = update_id


def is_int64(value: Any) -> bool:
    # bool is an int subclass, and JSON's 1.0, 1e400 and Infinity arrive as floats: none is an
    # id. The range is what the BigIntegerField columns (update, user and chat ids) can hold.
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def is_text(value: Any) -> bool:
    """A str that can be encoded and stored: JSON's "\\ud800" decodes to a lone surrogate."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


USER: Check = {"id": (is_int64, True), "username": (is_text, False)}
CHAT: Check = {"id": (is_int64, True), "type": (is_text, False)}
# Telegram leaves "from" out only for messages in channels, which arrive as channel_post.
MESSAGE: Check = {"chat": (CHAT, True), "from": (USER, True), "text": (is_text, False)}
CALLBACK_QUERY: Check = {"id": (is_text, True), "from": (USER, True), "data": (is_text, False)}
UPDATE: Check = {
    "update_id": (is_int64, True),
    "message": (MESSAGE, False),
    "callback_query": (CALLBACK_QUERY, False),
}


def parse_update(data: Any) -> dict[str, Any]:
    """``data`` itself if it has the shape the bot reads; otherwise ``MalformedUpdate``."""
    reason = _problem(data, UPDATE, "update")
    if reason is not None:
        update_id = data.get("update_id") if isinstance(data, dict) else None
        raise MalformedUpdate(reason, update_id if is_int64(update_id) else None)
    return data


def _problem(value: Any, check: Check, path: str) -> str | None:
    if callable(check):
        return None if check(value) else f"{path} is not {_expected(check)}"
    if not isinstance(value, dict):
        return f"{path} is not an object"
    for name, (inner, required) in check.items():
        if name not in value:
            if required:
                return f"{path}.{name} is missing"
            continue
        reason = _problem(value[name], inner, f"{path}.{name}")
        if reason is not None:
            return reason
    return None


def _expected(check: Callable[[Any], bool]) -> str:
    return "a signed 64-bit integer" if check is is_int64 else "UTF-8 text"
