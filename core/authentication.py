"""API tokens: DRF's ``Authorization: Token <key>`` scheme, with the user loaded in one query.

Every API request authenticates, so the lookup is compiled once (core/prepared.py) instead of
being built as an ORM query on every request (bench/README.md, "Transitions"). The websocket
stream uses the same lookup.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from core.prepared import PreparedQuery


def user_for_token(key: str) -> Any | None:
    """The user a token key belongs to (active or not), or None for an unknown key."""
    return _USER_FOR_TOKEN.get(key)


_USER_FOR_TOKEN = PreparedQuery(lambda key: get_user_model().objects.filter(auth_token__key=key))


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user = user_for_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # request.auth: the token as far as it was read (its key and user).
        return user, Token(key=key, user=user)
