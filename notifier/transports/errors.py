"""The one error every transport raises (STYLE.md rule 9): the worker decides retry, backoff
or dead letter from ``permanent``, ``chat_gone`` and ``retry_after``."""

from __future__ import annotations

__all__ = ["TransportError"]


class TransportError(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        chat_gone: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.chat_gone = chat_gone
        self.retry_after = retry_after
