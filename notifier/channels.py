"""The bot channels: Telegram and Bale speak one Bot API shape, each with its own token, base
URL, webhook secret, rate limits and the features it has (docs/channels.md has the table and
the sources).

Built from settings at call time, not at import, so a test (or an operator reloading settings)
changes a channel by changing its settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from notifier.models import BALE, TELEGRAM

# How the webhook knows an update came from the channel: Telegram sends the secret given to
# setWebhook in a header; Bale's setWebhook takes a URL only, so the secret is in the path.
SECRET_HEADER, SECRET_PATH = "header", "path"


@dataclass(frozen=True)
class BotChannel:
    name: str
    label: str  # the messenger's name as people know it (not translated: a brand)
    token: str
    username: str
    base_url: str
    webhook_secret: str
    global_rate: float
    chat_interval: float
    # Features of the channel's Bot API (docs/channels.md). What a channel lacks is left out of
    # the call rather than sent and refused.
    secret_in: str  # SECRET_HEADER or SECRET_PATH
    webhook_reply: bool  # a reply may be the webhook's HTTP response (else sent by the API)
    html: bool  # parse_mode=HTML; without it messages go out as plain text
    link_preview_options: bool
    deep_link_host: str  # https://<host>/<bot>?start=<token>

    @property
    def configured(self) -> bool:
        return bool(self.token)

    @property
    def linkable(self) -> bool:
        """Whether the profile offers a link: a bot is set up (its token, or at least the
        username people send /start to)."""
        return self.configured or bool(self.username)

    def deep_link(self, token: str) -> str | None:
        if not self.username:
            return None
        return f"https://{self.deep_link_host}/{self.username}?start={token}"


def _telegram() -> BotChannel:
    return BotChannel(
        name=TELEGRAM,
        label="Telegram",
        token=settings.TELEGRAM_BOT_TOKEN,
        username=settings.TELEGRAM_BOT_USERNAME,
        base_url=settings.TELEGRAM_API_BASE_URL,
        webhook_secret=settings.TELEGRAM_WEBHOOK_SECRET,
        global_rate=settings.TELEGRAM_GLOBAL_RATE,
        chat_interval=settings.TELEGRAM_CHAT_INTERVAL_SECONDS,
        secret_in=SECRET_HEADER,
        webhook_reply=True,
        html=True,
        link_preview_options=True,
        deep_link_host="t.me",
    )


def _bale() -> BotChannel:
    return BotChannel(
        name=BALE,
        label="Bale",
        token=settings.BALE_BOT_TOKEN,
        username=settings.BALE_BOT_USERNAME,
        base_url=settings.BALE_API_BASE_URL,
        webhook_secret=settings.BALE_WEBHOOK_SECRET,
        global_rate=settings.BALE_GLOBAL_RATE,
        chat_interval=settings.BALE_CHAT_INTERVAL_SECONDS,
        secret_in=SECRET_PATH,
        webhook_reply=False,
        html=False,
        link_preview_options=False,
        deep_link_host="ble.ir",
    )


_BUILDERS = {TELEGRAM: _telegram, BALE: _bale}


def bot_channel(name: str) -> BotChannel:
    """One bot channel by name (``telegram`` or ``bale``); KeyError for any other."""
    return _BUILDERS[name]()


def bot_channels() -> list[BotChannel]:
    """Every bot channel, Telegram first, configured or not (``.configured``)."""
    return [build() for build in _BUILDERS.values()]
