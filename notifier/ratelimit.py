"""Telegram's flood limits, kept on our side: 1 message/second per chat, 30/second overall.

python-telegram-bot's AIORateLimiter covers the overall and group limits but not the per-chat
one, so both live here. Slots are reserved in time order (a schedule, not a bucket): no burst
ever exceeds the rate, and a 429 pushes the chat's next slot out by ``retry_after``.
"""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    # Aim 2% under the ceiling: request timing jitters by a few milliseconds on the wire, and a
    # schedule exactly at the limit would then put a 31st message into some one-second window.
    MARGIN = 0.98

    def __init__(self, per_second: float, chat_interval: float) -> None:
        self.global_interval = 1.0 / (per_second * self.MARGIN)
        self.chat_interval = chat_interval
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}

    def reserve(self, chat_id: int, now: float | None = None) -> float:
        """Reserve the next slot for this chat; returns the monotonic time to send at."""
        now = time.monotonic() if now is None else now
        at = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = at + self.global_interval
        self._next_chat[chat_id] = at + self.chat_interval
        return at

    async def wait(self, chat_id: int) -> None:
        delay = self.reserve(chat_id) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def sent(self, chat_id: int) -> None:
        """Count the interval from the actual send, so a slow request never shortens the gap."""
        now = time.monotonic()
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), now + self.chat_interval)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
