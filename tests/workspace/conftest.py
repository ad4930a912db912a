"""The notifier's fixtures (the fake Bot API, its settings, linked chats) for the tasks' Telegram
tests."""

from tests.notifier.conftest import fake_telegram, linked, tg_settings  # noqa: F401
