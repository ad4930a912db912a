"""The base of every refusal a caller can act on (a role, a state, a missing field, a stale
version). Apps raise subclasses; the API answers each with its ``status`` and ``body()`` in one
place (core/api/exceptions.py), pages show its ``detail``, Telegram replies with it."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """``detail`` is the message in the language active when it was raised; ``extra`` the keys
    a client acts on (``{"missing": [...]}``), sent beside it."""

    status = 400

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict:
        return {"detail": self.detail, **self.extra}
