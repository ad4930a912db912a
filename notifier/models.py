"""Notifier tables: chat links, link tokens, subscriptions, the outbox and its cursor."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.choices import Severity

# The channels a delivery can go out on. Telegram and Bale are bots (one Bot API shape, chats
# linked per person); email goes to the user's account address; webhooks to an admin's URL.
TELEGRAM, BALE, EMAIL, WEBHOOK = "telegram", "bale", "email", "webhook"
BOT_CHANNELS = (TELEGRAM, BALE)
CHANNELS = [(TELEGRAM, "Telegram"), (BALE, "Bale"), (EMAIL, "email"), (WEBHOOK, "webhook")]
PERSON_CHANNELS = [(TELEGRAM, "Telegram"), (BALE, "Bale"), (EMAIL, "email")]
BOT_CHANNEL_CHOICES = [(TELEGRAM, "Telegram"), (BALE, "Bale")]


class ChatLinkQuerySet(models.QuerySet):
    def active(self) -> ChatLinkQuerySet:
        return self.filter(active=True, user__is_active=True)

    def on(self, channel: str) -> ChatLinkQuerySet:
        return self.filter(channel=channel)


class ChatLink(models.Model):
    """One user's private chat with one channel's bot. On each channel a person has at most one
    link, and a bot account links to at most one person; a person may link both channels."""

    channel = models.CharField(max_length=16, choices=BOT_CHANNEL_CHOICES, default=TELEGRAM)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_links"
    )
    account_id = models.BigIntegerField()  # the sender's user id on that channel
    chat_id = models.BigIntegerField()
    username = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(default=True)
    linked_at = models.DateTimeField(default=timezone.now)
    deactivated_reason = models.CharField(max_length=200, blank=True)

    objects = ChatLinkQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "user"], name="chatlink_one_per_channel"),
            models.UniqueConstraint(fields=["channel", "account_id"], name="chatlink_account"),
            models.UniqueConstraint(fields=["channel", "chat_id"], name="chatlink_chat"),
        ]

    def __str__(self) -> str:
        state = "" if self.active else " (inactive)"
        return f"{self.user} -> {self.channel} chat {self.chat_id}{state}"


class AlertPreference(models.Model):
    """What one person wants on one channel. No row means the channel's default
    (``notifier.preferences``): a linked chat gets every alert routed to the person, email only
    critical incidents and escalations."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences"
    )
    channel = models.CharField(max_length=16, choices=PERSON_CHANNELS)
    enabled = models.BooleanField(default=True)
    # New-incident and severity alerts below this are not sent on this channel.
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.LOW)
    # Only incidents the person commands, follows, or is assigned a task on (escalations of
    # their rotation too).
    own_incidents_only = models.BooleanField(default=False)
    # Quiet hours in the person's time zone, critical alerts excepted; empty means none. A range
    # may cross midnight (22:00-07:00).
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_to = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="alertpreference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.channel}"


class LinkAudit(models.Model):
    """Linking and unlinking are recorded (who, which channel and account, when, why)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=BOT_CHANNEL_CHOICES, default=TELEGRAM)
    action = models.CharField(max_length=16)  # linked | unlinked | deactivated
    account_id = models.BigIntegerField(null=True)
    chat_id = models.BigIntegerField(null=True)
    detail = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.action} {self.user} on {self.channel} {self.at:%Y-%m-%d %H:%M}"


class LinkToken(models.Model):
    """A single-use token for one channel's /start; only its SHA-256 is stored, like a
    password."""

    digest = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=16, choices=BOT_CHANNEL_CHOICES, default=TELEGRAM)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.channel} link token of {self.user}"


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
    """One message to one recipient on one channel (the outbox): a chat (Telegram, Bale), a
    person's email, or a registered webhook. ``key`` makes creation idempotent: a Telegram
    alert's is ``event:<seq>:<chat>`` (as before channels existed), other channels'
    ``event:<seq>:<channel>:<recipient>``; a reminder without an event uses its own key
    (docs/channels.md)."""

    PENDING, SENT, FAILED, DEAD = "pending", "sent", "failed", "dead"
    STATUSES = [
        (PENDING, "pending"),
        (SENT, "sent"),
        (FAILED, "failed (will retry)"),
        (DEAD, "dead"),
    ]

    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=16, choices=CHANNELS, default=TELEGRAM)
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
    chat_id = models.BigIntegerField(null=True, blank=True)  # bot channels only
    webhook = models.ForeignKey(
        "notifier.OutboundWebhook",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    # Email: the subject (the text is the body); a webhook: empty (the text is the JSON body).
    subject = models.CharField(max_length=200, blank=True)
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
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(
                fields=["channel", "status", "next_attempt_at"], name="delivery_channel_due"
            ),
        ]

    def __str__(self) -> str:
        to = self.chat_id if self.chat_id is not None else self.webhook_id or self.user_id
        return f"{self.kind} -> {self.channel} {to} ({self.status})"

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "channel": self.channel,
            "chat_id": self.chat_id,
            "status": self.status,
        }


class Cursor(models.Model):
    """The last event seq turned into deliveries; advanced in the same transaction as they are
    created, so a crash either keeps both or neither."""

    name = models.CharField(max_length=32, primary_key=True)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.seq}"


class BotUpdate(models.Model):
    """A bot channel's update ids already handled; a redelivered webhook update is ignored."""

    channel = models.CharField(max_length=16, choices=BOT_CHANNEL_CHOICES, default=TELEGRAM)
    update_id = models.BigIntegerField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "update_id"], name="botupdate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel} update {self.update_id}"


class RotationQuerySet(models.QuerySet):
    def active(self) -> RotationQuerySet:
        return self.filter(active=True)

    def with_schedule(self, since: dt.datetime) -> RotationQuerySet:
        """Each rotation with its members in order (users loaded) and the overrides that end
        after ``since``: three queries, whatever the number of rotations (notifier/oncall.py)."""
        members = RotationMember.objects.select_related("user").order_by("position")
        overrides = RotationOverride.objects.filter(ends_at__gt=since).select_related(
            "user", "replaced", "created_by"
        )
        return self.prefetch_related(
            models.Prefetch("members", queryset=members),
            models.Prefetch("overrides", queryset=overrides.order_by("starts_at", "id")),
        )


class Rotation(models.Model):
    """An on-call rotation: its members take shifts in order, each ``shift`` long, handing over
    at ``handover_time`` (in ``time_zone``) from ``starts_on``; overrides replace the member for
    a range of time (notifier/oncall.py)."""

    DAILY, WEEKLY = "daily", "weekly"
    SHIFTS = [(DAILY, "daily"), (WEEKLY, "weekly")]

    name = models.CharField(max_length=100, unique=True)
    shift = models.CharField(max_length=16, choices=SHIFTS, default=WEEKLY)
    starts_on = models.DateField(default=dt.date.today)
    handover_time = models.TimeField(default=dt.time(9, 0))
    time_zone = models.CharField(max_length=64, default="Asia/Tehran")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RotationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "position"], name="rotationmember_slot"),
            models.UniqueConstraint(fields=["rotation", "user"], name="rotationmember_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rotation} #{self.position}: {self.user}"


class RotationOverrideQuerySet(models.QuerySet):
    def covering(self, moment: dt.datetime) -> RotationOverrideQuerySet:
        """Overrides in force at ``moment``, the one that wins first (the latest created)."""
        return self.filter(starts_at__lte=moment, ends_at__gt=moment).order_by("-created_at", "-id")


class RotationOverride(models.Model):
    """``user`` is on call instead of whoever the order names, from ``starts_at`` to
    ``ends_at``: a taken or swapped shift, or an admin's change. Kept as the record of who
    changed what (``created_by``, ``replaced``, ``reason``)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    replaced = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = RotationOverrideQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["rotation", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.rotation} {self.starts_at:%Y-%m-%d %H:%M}"


class EscalationChainQuerySet(models.QuerySet):
    def active(self) -> EscalationChainQuerySet:
        return self.filter(active=True)

    def with_steps(self) -> EscalationChainQuerySet:
        steps = EscalationStep.objects.select_related("rotation", "user").order_by("level")
        return self.prefetch_related(models.Prefetch("steps", queryset=steps)).order_by("id")


class EscalationChain(models.Model):
    """Who is called, level by level, when nobody acknowledges an incident of one of
    ``severities`` (a list of Severity values) in time: each step ``ESCALATION_MINUTES`` after
    the one before, each level once (notifier/escalation.py)."""

    name = models.CharField(max_length=100, unique=True)
    severities = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = EscalationChainQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """One level of a chain. ``target`` says whom: the rotation's on-call engineer, the next
    one in its order, a named user, or the commander's manager (else the admins)."""

    ON_CALL, NEXT_ON_CALL, USER, MANAGER = "on_call", "next_on_call", "user", "manager"
    TARGETS = [
        (ON_CALL, "on-call engineer"),
        (NEXT_ON_CALL, "next on call"),
        (USER, "a named person"),
        (MANAGER, "the commander's manager, else admins"),
    ]

    chain = models.ForeignKey(EscalationChain, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveIntegerField()
    target = models.CharField(max_length=16, choices=TARGETS)
    rotation = models.ForeignKey(
        Rotation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["chain", "level"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "level"], name="escalationstep_level")
        ]

    def __str__(self) -> str:
        return f"{self.chain} level {self.level}: {self.target}"


class OutboundWebhook(models.Model):
    """A URL an admin registered to receive the event log's events, signed with HMAC-SHA256
    (notifier/webhooks.py). The secret is sealed at rest with the PII key (core/pii.py): it
    must be read back to sign, so it cannot be a digest."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret_sealed = models.TextField()
    kinds = models.JSONField(default=list, blank=True)  # event kinds; empty means every kind
    min_severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.LOW)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"
