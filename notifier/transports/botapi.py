"""Everything that speaks to a Bot API: Telegram's and Bale's (STYLE.md rule 9).

One implementation for both: python-telegram-bot 22's ``Bot`` pointed at the channel's base
URL. What a channel's API lacks (HTML parse mode, link preview options on Bale) is left out of
the call, and HTML is turned into plain text for it (docs/channels.md). Failures become
``TransportError`` and the worker decides what to do with them: retry later, wait
``retry_after``, or dead-letter and deactivate the chat.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import warnings
from typing import Any

from django.conf import settings
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from notifier.channels import BotChannel
from notifier.transports.errors import TransportError

log = logging.getLogger(__name__)

# Error descriptions that mean the chat will never accept a message again: Telegram's, then
# Bale's ("no such group or user", as python-bale-bot reads it).
CHAT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "peer_id_invalid",
    "have no rights to send",
    "no such group or user",
)
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_TAG = re.compile(r"</?[a-z]+[^>]*>")


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def plain_text(text: str) -> str:
    """A message written for HTML parse mode, for a channel without it: a link keeps its
    address after its words, the other tags go, the escapes are undone. Safe because every
    value in our messages is escaped: a ``<`` left in the text is always one of our tags."""
    text = _LINK.sub(lambda m: f"{m.group(2)}: {html.unescape(m.group(1))}", text)
    return html.unescape(_TAG.sub("", text))


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
    if any(marker in text.lower() for marker in CHAT_GONE):  # whatever status carried it
        return TransportError(text, permanent=True, chat_gone=True)
    if isinstance(exc, InvalidToken):
        return TransportError(text, permanent=False)  # an operator fixes the token; keep the rows
    if isinstance(exc, BadRequest):
        return TransportError(text, permanent=True)
    return TransportError(text or type(exc).__name__)  # NetworkError, TimedOut, 5xx


class BotApiTransport:
    """One Bot per worker process and channel; call ``start`` then ``send``/``call``; ``stop``
    at the end."""

    log_only = False

    def __init__(self, channel: BotChannel, *, timeout: float | None = None) -> None:
        self.channel = channel
        timeout = timeout or settings.TELEGRAM_TIMEOUT_SECONDS
        base = channel.base_url.rstrip("/")
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
            channel.token,
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

    def _message(self, text: str) -> dict[str, Any]:
        """sendMessage's text and the formatting options this channel takes."""
        if not self.channel.html:
            return {"text": plain_text(text)}
        options: dict[str, Any] = {"text": text, "parse_mode": ParseMode.HTML}
        if self.channel.link_preview_options:
            options["link_preview_options"] = LinkPreviewOptions(is_disabled=True)
        return options

    def _markup(self, reply_markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
        # Buttons are stored (and arrive in bot replies) as the Bot API's JSON.
        return InlineKeyboardMarkup.de_json(reply_markup, self.bot) if reply_markup else None

    async def send(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> int:
        """Send one message written in HTML; returns the channel's message id."""
        await self.start()
        try:
            message = await self.bot.send_message(
                chat_id=chat_id, reply_markup=self._markup(reply_markup), **self._message(text)
            )
        except TelegramError as exc:
            raise translate(exc) from exc
        return message.message_id

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """A bot reply as the bot handlers write it (sendMessage, answerCallbackQuery)."""
        await self.start()
        params = dict(params)
        if method == "sendMessage":
            params.pop("parse_mode", None)  # the channel decides (``_message``)
            params.update(self._message(params.pop("text")))
            params["reply_markup"] = self._markup(params.get("reply_markup"))
            action = self.bot.send_message
        elif method == "answerCallbackQuery":
            action = self.bot.answer_callback_query
        else:
            raise TransportError(f"unsupported bot reply {method!r}", permanent=True)
        try:
            return await action(**params)
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

    def __init__(self, channel: BotChannel | None = None) -> None:
        self.channel = channel

    async def start(self) -> None:
        return None  # the worker announces log-only mode at start-up

    async def stop(self) -> None:
        return None

    async def send(
        self, chat_id: int, text: str, reply_markup: dict[str, Any] | None = None
    ) -> int | None:
        name = self.channel.name if self.channel else "bot"
        log.info(
            "log-only: would send a %d-character %s alert to chat %s", len(text), name, chat_id
        )
        return None

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        log.info("log-only: would call %s", method)
        return None

    async def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        return []


def transport_for(channel: BotChannel) -> BotApiTransport | LogOnlyTransport:
    """The channel's transport: the real one with a token, the log-only one without."""
    return BotApiTransport(channel) if channel.configured else LogOnlyTransport(channel)
