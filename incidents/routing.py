"""Websocket routes and who is connecting (core/asgi.py wraps this in the origin check).

A client proves who it is with the session cookie (browsers) or an ``Authorization: Token <key>``
header (other clients). Never a token in the URL: URLs end up in proxy logs and browser history.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.routing import URLRouter
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.urls import re_path

from core.authentication import user_for_token
from incidents.consumers import EventStreamConsumer

websocket_urlpatterns = [
    re_path(r"^ws/events/$", EventStreamConsumer.as_asgi()),
    re_path(r"^ws/incidents/(?P<reference>INC-\d{4}-\d{4,})/$", EventStreamConsumer.as_asgi()),
]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin1")
    return None


@database_sync_to_async
def _token_user(key: str) -> Any:
    user = user_for_token(key)
    return user if user is not None and user.is_active else AnonymousUser()


async def _session_user(cookie_header: str | None) -> Any:
    key = parse_cookie(cookie_header or "").get(settings.SESSION_COOKIE_NAME)
    if not key:
        return AnonymousUser()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    # channels' get_user checks the session's auth hash, so a changed password ends old sessions.
    return await get_user({"session": store(key)})


class StreamAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]``. Unlike channels' AuthMiddlewareStack it does not wrap ``send``
    (the stream never changes the session), which keeps daphne's own send reachable for the
    consumer's back-pressure gate and saves a hop per frame."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        authorization = _header(scope, b"authorization")
        if authorization is not None:
            kind, _, key = authorization.partition(" ")
            user = await _token_user(key.strip()) if kind.lower() == "token" else AnonymousUser()
        else:
            user = await _session_user(_header(scope, b"cookie"))
        return await super().__call__({**scope, "user": user}, receive, send)


def websocket_application() -> Any:
    return StreamAuthMiddleware(URLRouter(websocket_urlpatterns))
