"""The websocket Origin check compares scheme, host and port, like Django's CSRF Origin check
(core/ws_origin.py); channels' AllowedHostsOriginValidator compared the host name only."""

from __future__ import annotations

from typing import Any

import pytest

from core.ws_origin import origin_allowed

pytestmark = pytest.mark.django_db(transaction=True)


async def handshake(ws: Any, origin: str | None, **headers: str) -> bool:
    sent = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    communicator = await ws("engineer", origin=origin, headers=sent)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


async def test_the_requests_own_origin_is_accepted(ws):
    assert await handshake(ws, "http://127.0.0.1")
    assert await handshake(ws, "http://127.0.0.1:8000", host="127.0.0.1:8000")
    # The default port may be spelled out or not.
    assert await handshake(ws, "http://127.0.0.1:80")


async def test_a_wrong_port_is_refused(ws):
    assert not await handshake(ws, "http://127.0.0.1:9999")
    assert not await handshake(ws, "http://127.0.0.1:9999", host="127.0.0.1:8000")


async def test_a_wrong_scheme_is_refused(ws):
    assert not await handshake(ws, "https://127.0.0.1")


async def test_behind_the_proxy_the_scheme_comes_from_x_forwarded_proto(ws):
    assert await handshake(ws, "https://127.0.0.1", x_forwarded_proto="https")
    assert not await handshake(ws, "http://127.0.0.1", x_forwarded_proto="https")
    assert not await handshake(ws, "https://127.0.0.1", x_forwarded_proto="http")


async def test_a_wrong_host_is_refused(ws):
    assert not await handshake(ws, "http://localhost")
    assert not await handshake(ws, "https://evil.example")
    # DNS rebinding: same origin as the Host header, but that host is not ours.
    assert not await handshake(ws, "http://evil.example", host="evil.example")


async def test_a_trusted_origin_is_accepted(ws, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example", "https://*.corp.example"]
    settings.PUBLIC_BASE_URL = "https://public.example:8443"
    assert await handshake(ws, "https://desk.example")
    assert await handshake(ws, "https://team.corp.example")
    assert await handshake(ws, "https://public.example:8443")
    assert not await handshake(ws, "http://desk.example")
    assert not await handshake(ws, "https://desk.example:8443")
    assert not await handshake(ws, "https://public.example")
    assert not await handshake(ws, "https://corp.example.evil.example")


async def test_a_missing_or_unreadable_origin_is_refused_even_with_a_token(ws):
    # As before (channels refused a missing Origin unless ALLOWED_HOSTS had "*"):
    # docs/live-stream.md tells non-browser clients to send one.
    assert not await handshake(ws, None)
    assert not await handshake(ws, "null")
    assert not await handshake(ws, "http://127.0.0.1:notaport")


def test_a_wss_scope_makes_the_request_origin_https() -> None:
    scope = {"type": "websocket", "scheme": "wss", "headers": [(b"host", b"127.0.0.1")]}
    assert origin_allowed(
        {**scope, "headers": [*scope["headers"], (b"origin", b"https://127.0.0.1")]}
    )
    assert not origin_allowed(
        {**scope, "headers": [*scope["headers"], (b"origin", b"http://127.0.0.1")]}
    )
