"""Websocket routes and who is connecting (core/asgi.py wraps this in the origin check).

A client proves who it is with the session cookie (browsers) or an ``Authorization: Token <key>``
header (other clients). Never a token in the URL: URLs end up in proxy logs and browser history.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.urls import re_path

from core.authentication import Credential, user_for_credential
from incidents.stream.consumers import EventStreamConsumer

websocket_urlpatterns = [
    re_path(r"^ws/events/$", EventStreamConsumer.as_asgi()),
    re_path(r"^ws/incidents/(?P<reference>INC-\d{4}-\d{4,})/$", EventStreamConsumer.as_asgi()),
]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


def _credential(scope: dict[str, Any]) -> Credential | None:
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        kind, _, key = authorization.partition(" ")
        return ("token", key.strip()) if kind.lower() == "token" else None
    key = scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME)
    return ("session", key) if key else None


class StreamAuthMiddleware(BaseMiddleware):
    """Sets ``scope["credential"]`` and the ``scope["user"]`` it signs in now; the consumers
    ask again while the connection lasts (``Hub.recheck`` in incidents/consumers.py). Unlike
    channels' AuthMiddlewareStack it does not wrap ``send`` (the stream never changes the
    session), which keeps daphne's own send reachable for the consumer's back-pressure gate and
    saves a hop per frame (incidents/stream/backpressure.py)."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        credential = _credential(scope)
        user = await database_sync_to_async(user_for_credential)(credential)
        scope = {**scope, "credential": credential, "user": user}
        return await super().__call__(scope, receive, send)


def websocket_application(*more_routes: Any) -> Any:
    """The stream's routes and ``more_routes`` (the root adds the apps' own consumers built on
    the stream, e.g. the dashboard's: incidents never imports them) behind the authentication.
    """
    # channels' CookieMiddleware reads the cookies (and, unlike its session middleware, leaves
    # ``send`` unwrapped: the back-pressure gate needs daphne's own).
    routes = URLRouter([*websocket_urlpatterns, *more_routes])
    return CookieMiddleware(StreamAuthMiddleware(routes))
