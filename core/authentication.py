"""Who a websocket client is. The REST API signs in with DRF's own ``TokenAuthentication``
and ``SessionAuthentication`` (settings.REST_FRAMEWORK); the live stream accepts the same two
credentials, read from its handshake, and asks again while the connection lasts."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


def user_for_token(key: str) -> Any | None:
    """The user a token key belongs to (active or not), or None for an unknown key."""
    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None else None


# How a websocket client proved who it is: its token's key, or its session cookie's key.
Credential = tuple[Literal["token", "session"], str]


def user_for_credential(credential: Credential | None) -> Any:
    """Who ``credential`` signs in right now: an active user, or AnonymousUser once the token is
    deleted, the session ended (signed out, expired, password changed) or the user deactivated.
    The live stream asks at connect and again while the connection lasts."""
    if credential is None:
        return AnonymousUser()
    kind, key = credential
    if kind == "token":
        user = user_for_token(key)
        return user if user is not None and user.is_active else AnonymousUser()
    # Django's own check of a session: its auth hash against the user's, and the backend's
    # is_active rule.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return get_user(SimpleNamespace(session=_ReadOnlySession(store(key))))


class _ReadOnlySession:
    """A browser's session as the stream reads it. ``get_user`` cycles the session's key when
    it was signed with a rotated-out secret (SECRET_KEY_FALLBACKS) and flushes it when the check
    fails; a websocket cannot hand the browser a new cookie, so doing either here would sign the
    browser out. Its own next page request does both properly."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        pass

    def cycle_key(self) -> None:
        pass

    def flush(self) -> None:
        pass
