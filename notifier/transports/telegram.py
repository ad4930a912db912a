"""Everything that speaks to the Telegram Bot API (STYLE.md rule 9).

Async, built on python-telegram-bot 22. Failures become ``TransportError`` and the worker decides
what to do with them: retry later, wait ``retry_after``, or dead-letter and deactivate the chat.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from typing import Any

from django.conf import settings
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from notifier.transports.errors import TransportError

log = logging.getLogger(__name__)

# BadRequest descriptions that mean the chat will never accept a message again.
CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "peer_id_invalid",
    "have no rights to send",
)


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def translate(exc: TelegramError) -> TransportError:
    """Map python-telegram-bot's errors onto what the worker needs to decide."""
    text = str(exc)
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():
            # PTB 22 reads its int form as deprecated in favour of a timedelta; both are seconds.
            warnings.simplefilter("ignore", DeprecationWarning)
            return TransportError(text, retry_after=_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):  # blocked by the user, kicked from the chat
        return TransportError(text, permanent=True, chat_gone=True)
    if isinstance(exc, InvalidToken):
        return TransportError(text, permanent=False)  # an operator fixes the token; keep the rows
    if isinstance(exc, BadRequest):
        gone = any(marker in text.lower() for marker in CHAT_GONE)
        return TransportError(text, permanent=True, chat_gone=gone)
    return TransportError(text or type(exc).__name__)  # NetworkError, TimedOut, 5xx


class TelegramTransport:
    """One Bot per worker process; call ``start`` then ``send``/``call``; ``stop`` at the end."""

    log_only = False

    def __init__(
        self, token: str, *, base_url: str | None = None, timeout: float | None = None
    ) -> None:
        timeout = timeout or settings.TELEGRAM_TIMEOUT_SECONDS
        base = (base_url or settings.TELEGRAM_API_BASE_URL).rstrip("/")
        self._request = HTTPXRequest(
            connection_pool_size=64,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
        self._updates_request = HTTPXRequest(
            connection_pool_size=2, read_timeout=timeout + 30, connect_timeout=timeout
        )
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
            get_updates_request=self._updates_request,
        )
        self._started = False

    async def start(self) -> None:
        if not self._started:
            await self._request.initialize()
            await self._updates_request.initialize()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._request.shutdown()
            await self._updates_request.shutdown()
            self._started = False

    async def send(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> int:
        """Send one HTML message; returns Telegram's message id."""
        await self.start()
        markup = InlineKeyboardMarkup.de_json(reply_markup, self.bot) if reply_markup else None
        try:
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramError as exc:
            raise translate(exc) from exc
        return message.message_id

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """A raw Bot API call (a bot reply: sendMessage, answerCallbackQuery)."""
        await self.start()
        methods = {
            "sendMessage": self.bot.send_message,
            "answerCallbackQuery": self.bot.answer_callback_query,
        }
        if method not in methods:
            raise TransportError(f"unsupported bot reply {method!r}", permanent=True)
        if params.get(
            "reply_markup"
        ):  # buttons arrive as the Bot API's JSON, as in a webhook reply
            markup = InlineKeyboardMarkup.de_json(params["reply_markup"], self.bot)
            params = {**params, "reply_markup": markup}
        try:
            return await methods[method](**params)
        except TelegramError as exc:
            raise translate(exc) from exc

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        await self.start()
        try:
            updates = await self.bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=["message", "callback_query"]
            )
        except TelegramError as exc:
            raise translate(exc) from exc
        return [u.to_dict() for u in updates]


class LogOnlyTransport:
    """No bot token: log what would be sent (ids only, never text) and report success."""

    log_only = True

    async def start(self) -> None:
        return None  # the worker announces log-only mode at start-up

    async def stop(self) -> None:
        return None

    async def send(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> int | None:
        log.info("log-only: would send a %d-character alert to chat %s", len(text), chat_id)
        return None

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        log.info("log-only: would call %s", method)
        return None


def transport_from_settings() -> TelegramTransport | LogOnlyTransport:
    if not settings.TELEGRAM_BOT_TOKEN:
        return LogOnlyTransport()
    return TelegramTransport(settings.TELEGRAM_BOT_TOKEN)
