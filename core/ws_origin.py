"""The websocket handshake's Origin check, the way Django's CSRF middleware checks Origin.

Channels' ``AllowedHostsOriginValidator`` compares only the Origin's host name with
ALLOWED_HOSTS, so ``http://127.0.0.1:9999`` (another program on the same machine, another
scheme) passed. Here an Origin is accepted only when it is the origin of the request itself
(scheme from ws/wss or the proxy's SECURE_PROXY_SSL_HEADER, host and port from the Host header,
which must be an allowed host) or is listed in CSRF_TRUSTED_ORIGINS or PUBLIC_BASE_URL. A missing
Origin is refused as before (docs/live-stream.md: non-browser clients send one too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalized(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of ``scheme://host[:port]``, or None when it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def trusted(origin: tuple[str, str, int]) -> bool:
    """Listed in CSRF_TRUSTED_ORIGINS (``*.`` matches subdomains, as Django's does) or
    PUBLIC_BASE_URL."""
    scheme, host, port = origin
    for entry in [*settings.CSRF_TRUSTED_ORIGINS, settings.PUBLIC_BASE_URL]:
        if not entry:
            continue
        wildcard = "://*." in entry
        listed = normalized(entry.replace("://*.", "://", 1) if wildcard else entry)
        if listed is None or listed[0] != scheme or listed[2] != port:
            continue
        if listed[1] == host or (wildcard and host.endswith("." + listed[1])):
            return True
    return False


def request_origin(scope: Scope) -> tuple[str, str, int] | None:
    """The origin the client reached: None when the Host header is missing or not allowed."""
    request = HttpRequest()
    for name, value in scope.get("headers", []):
        key = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
        request.META[key] = value.decode("latin1")
    if "HTTP_HOST" not in request.META:
        return None
    try:
        host = request.get_host()  # checks ALLOWED_HOSTS (a rebinding host name is refused)
    except DisallowedHost:
        return None
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy and proxy[0] in request.META:
        scheme = "https" if request.is_secure() else "http"
    else:
        scheme = "https" if scope.get("scheme") == "wss" else "http"
    return normalized(f"{scheme}://{host}")


def origin_allowed(scope: Scope) -> bool:
    origins = [v for k, v in scope.get("headers", []) if k == b"origin"]
    if len(origins) != 1:
        return False
    origin = normalized(origins[0].decode("latin1"))
    if origin is None:
        return False
    return origin == request_origin(scope) or trusted(origin)


class SameOriginValidator:
    """ASGI wrapper: a websocket whose Origin fails ``origin_allowed`` is refused at the
    handshake (HTTP 403 from the server), before authentication or routing."""

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or origin_allowed(scope):
            await self.application(scope, receive, send)
            return
        # Closing before accepting is how ASGI refuses a handshake (channels' WebsocketDenier).
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})
