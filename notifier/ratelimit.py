"""Telegram's flood limits, kept on our side: 1 message/second per chat, 30/second overall.

python-telegram-bot's AIORateLimiter covers the overall and group limits but not the per-chat
one, so both live here. Slots are handed out one at a time through a gate and spaced from when a
send was actually let through, not from a precomputed schedule: a task that wakes late (a busy
loop, a GC pause) must not let the tasks behind it go out in a burst.
"""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    # Aim 1% under the ceiling: request timing jitters by a few milliseconds on the wire, and a
    # spacing exactly at the limit would then put a 31st message into some one-second window.
    MARGIN = 0.99

    def __init__(self, per_second: float, chat_interval: float) -> None:
        self.global_interval = 1.0 / (per_second * self.MARGIN)
        self.chat_interval = chat_interval
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._gate: asyncio.Lock | None = None

    async def wait(self, chat_id: int) -> None:
        """Return when one message to this chat may go out now (call from one event loop)."""
        # The per-chat wait happens outside the gate so one slow chat never holds up the rest.
        await _sleep_until(self._next_chat.get(chat_id, 0.0))
        if self._gate is None:
            self._gate = asyncio.Lock()
        async with self._gate:
            await _sleep_until(max(self._next_global, self._next_chat.get(chat_id, 0.0)))
            now = time.monotonic()
            self._next_global = now + self.global_interval
            self._next_chat[chat_id] = now + self.chat_interval

    def sent(self, chat_id: int) -> None:
        """Count the interval from the end of a send, so a slow request never shortens the gap."""
        now = time.monotonic()
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), now + self.chat_interval)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
