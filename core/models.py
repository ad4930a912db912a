"""Per-user preferences that every part of the app reads (pages, Telegram messages)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone.")) from None


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone]
    )
    # Whom an escalation calls after the on-call engineers when this person commands the
    # incident (notifier/escalation.py); nobody named means the admins.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("manager"),
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"

    @classmethod
    def for_user(cls, user: Any) -> Profile:
        profile, _ = cls.objects.get_or_create(user=user)
        return profile

    def effective_language(self) -> str:
        return self.language or settings.LANGUAGE_CODE

    def effective_time_zone(self) -> str:
        return self.time_zone or settings.TIME_ZONE


def key_digest(key: str) -> str:
    """The SHA-256 a secret key is stored as (API tokens, integrations' URL keys): the key
    itself is never kept."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def for_key(self, key: str) -> ApiTokenQuerySet:
        return self.filter(key_digest=key_digest(key))

    def live(self) -> ApiTokenQuerySet:
        return self.filter(expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """One API key of one person (a script, a device: many per person). Only a digest of the
    key is stored, so a copy of the database signs nobody in. A token works until it expires,
    is revoked, or its owner's password changes (``password_digest`` no longer matches)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    # The user's session auth hash when the token was issued: Django's own keyed digest of the
    # password hash, the same check that ends sessions when a password changes.
    password_digest = models.CharField(max_length=128, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"API token {self.pk} of {self.user}"

    @classmethod
    def issue(cls, user: Any) -> tuple[ApiToken, str]:
        """A new token for ``user`` and its key, which is shown this once and never stored."""
        key = secrets.token_hex(20)
        # The person's expired tokens go now: they can never work again, and would pile up.
        cls.objects.filter(user=user, expires_at__lte=timezone.now()).delete()
        token = cls.objects.create(
            user=user,
            key_digest=key_digest(key),
            password_digest=user.get_session_auth_hash(),
            expires_at=timezone.now() + dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        )
        return token, key

    def matches_password_of(self, user: Any) -> bool:
        """Still bound to the user's current password (SECRET_KEY_FALLBACKS honoured as for
        sessions, so rotating the secret key does not sign every script out)."""
        current = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
        return any(constant_time_compare(self.password_digest, h) for h in current)


def revoke_tokens_of_old_password(
    sender: Any, instance: Any, created: bool, update_fields: Any, **kwargs: Any
) -> None:
    """post_save of the user model: a changed password (the page, the admin, `changepassword`,
    any ``set_password`` then ``save``) deletes the tokens issued under the old one. They already
    fail to authenticate (``matches_password_of``); deleting them also empties the owner's list
    and tells the live stream to drop their connections (incidents/stream/push.py)."""
    if created or (update_fields is not None and "password" not in update_fields):
        return
    stale = [
        t.pk
        for t in ApiToken.objects.filter(user=instance).only("pk", "password_digest")
        if not t.matches_password_of(instance)
    ]
    if stale:
        ApiToken.objects.filter(pk__in=stale).delete()
