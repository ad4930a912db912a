"""Notifier tables: chat links, link tokens, subscriptions, the outbox and its cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.choices import Severity


class TelegramLinkQuerySet(models.QuerySet):
    def active(self) -> TelegramLinkQuerySet:
        return self.filter(active=True, user__is_active=True)


class TelegramLink(models.Model):
    """One user's private chat with the bot. A Telegram account links to at most one user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_link"
    )
    telegram_user_id = models.BigIntegerField(unique=True)
    chat_id = models.BigIntegerField(unique=True)
    telegram_username = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(default=True)
    # New-incident alerts below this severity are not sent (default: all).
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.LOW)
    linked_at = models.DateTimeField(default=timezone.now)
    deactivated_reason = models.CharField(max_length=200, blank=True)

    objects = TelegramLinkQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.user} -> chat {self.chat_id}{'' if self.active else ' (inactive)'}"


class LinkAudit(models.Model):
    """Linking and unlinking are recorded (who, which Telegram account, when, why)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16)  # linked | unlinked | deactivated
    telegram_user_id = models.BigIntegerField(null=True)
    chat_id = models.BigIntegerField(null=True)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.action} {self.user} {self.at:%Y-%m-%d %H:%M}"


class LinkToken(models.Model):
    """A single-use token for /start; only its SHA-256 is stored, like a password."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link token of {self.user}"


class Subscription(models.Model):
    """Someone who wants every transition of one incident, besides its commander."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="telegram_subscriptions"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "incident"], name="subscription_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.incident_id}"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now: dt.datetime | None = None) -> DeliveryQuerySet:
        now = now or timezone.now()
        return self.filter(
            Q(status__in=(Delivery.PENDING, Delivery.FAILED)),
            Q(next_attempt_at__lte=now),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        )

    def dead(self) -> DeliveryQuerySet:
        return self.filter(status=Delivery.DEAD)

    def sent(self) -> DeliveryQuerySet:
        return self.filter(status=Delivery.SENT)

    def unsent(self) -> DeliveryQuerySet:
        return self.filter(status__in=(Delivery.PENDING, Delivery.FAILED))


class Delivery(models.Model):
    """One message to one chat (the outbox). ``key`` makes creation idempotent: an event's alert
    is ``event:<seq>:<chat>``; a reminder without an event uses its own key (docs/telegram.md)."""

    PENDING, SENT, FAILED, DEAD = "pending", "sent", "failed", "dead"
    STATUSES = [
        (PENDING, "pending"),
        (SENT, "sent"),
        (FAILED, "failed (will retry)"),
        (DEAD, "dead"),
    ]

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    event = models.ForeignKey(
        "incidents.Event", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    chat_id = models.BigIntegerField()
    text = models.TextField()
    reply_markup = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    telegram_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.chat_id} ({self.status})"

    def describe(self) -> dict[str, Any]:
        return {"id": self.pk, "chat_id": self.chat_id, "status": self.status}


class Cursor(models.Model):
    """The last event seq turned into deliveries; advanced in the same transaction as they are
    created, so a crash either keeps both or neither."""

    name = models.CharField(max_length=32, primary_key=True)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.seq}"


class ProcessedUpdate(models.Model):
    """Telegram update ids already handled; a redelivered webhook update is ignored."""

    update_id = models.BigIntegerField(primary_key=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.update_id)
