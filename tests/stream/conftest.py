"""Websocket clients on the real ASGI application (origin check, auth, routes) in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from core.asgi import application
from core.models import ApiToken

ORIGIN = "http://127.0.0.1"


def token_of(user: User) -> str:
    return ApiToken.issue(user)[1]


@pytest.fixture
def ws(users: dict[str, User]) -> Callable[..., Any]:
    """await ws("engineer", path=..., origin=..., auth=...) -> a WebsocketCommunicator (not yet
    connected). ``auth`` is extra headers; by default the role's token header."""

    async def build(
        role: str | None,
        path: str = "/ws/events/",
        origin: str | None = ORIGIN,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> WebsocketCommunicator:
        sent = list(headers or [])
        if role is not None:
            key = await database_sync_to_async(token_of)(users[role])
            sent.append((b"authorization", f"Token {key}".encode()))
        if origin is not None:
            sent.append((b"origin", origin.encode()))
        # Every real client sends Host; the origin check compares Origin with it.
        if not any(name == b"host" for name, _ in sent):
            sent.append((b"host", b"127.0.0.1"))
        return WebsocketCommunicator(application, path, headers=sent)

    return build
