"""API tokens: DRF's ``Authorization: Token <key>`` scheme, with the user loaded in one query.

Every API request authenticates, so this is on every request's path: written out, the lookup
costs about a quarter of what DRF's ORM query does (bench/README.md, "Transitions"). The websocket
stream uses the same lookup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


def user_for_token(key: str) -> Any | None:
    """The user a token key belongs to (active or not), or None for an unknown key."""
    return next(iter(get_user_model().objects.raw(_user_for_token_sql(), [key])), None)


@cache
def _user_for_token_sql() -> str:
    users = get_user_model()._meta
    tokens = Token._meta
    quote = connection.ops.quote_name
    return (
        f"SELECT u.* FROM {quote(users.db_table)} u"
        f" JOIN {quote(tokens.db_table)} t ON t.{quote(tokens.get_field('user').column)}"
        f" = u.{quote(users.pk.column)}"
        f" WHERE t.{quote(tokens.pk.column)} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user = user_for_token(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # request.auth: the token as far as it was read (its key and user).
        return user, Token(key=key, user=user)
