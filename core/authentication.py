"""Who an API or websocket client is. The REST API signs in with ``ApiTokenAuthentication`` (a
thin subclass of DRF's ``TokenAuthentication`` over our own ``ApiToken``) and DRF's
``SessionAuthentication`` (settings.REST_FRAMEWORK); the live stream accepts the same two
credentials, read from its handshake, and asks again while the connection lasts."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from types import SimpleNamespace
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.models import ApiToken

# last_used is written at most this often per token: not a write per request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def live_token(key: str) -> ApiToken | None:
    """The token with this key if it still works: not expired, and its user's password unchanged
    since it was issued (a token of a changed password is deleted on sight). Its user may be
    inactive; callers decide what that means."""
    token = ApiToken.objects.live().for_key(key).select_related("user").first()
    if token is None:
        return None
    if not token.matches_password_of(token.user):
        ApiToken.objects.filter(pk=token.pk).delete()
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def user_for_token(key: str) -> Any | None:
    """The user a working token key belongs to (active or not), or None."""
    token = live_token(key)
    return token.user if token is not None else None


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` against ``ApiToken``. Expired, revoked and
    password-changed tokens all answer the same 401: which one it was helps only a thief."""

    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = live_token(key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token


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
