"""Notices to the people affected (issue 18): the templates they are written from, a campaign
(drafted by legal, approved by a second person, sent by the worker) and one notice per person,
which is the outbox row the worker claims, sends, retries and dead-letters. A notice row holds
no contact data: the sender unseals the person's record when it sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import ADMIN, LEGAL, LEGAL_TEAM, Roles
from incidents.models.incident import Incident
from incidents.models.register import AffectedPerson, NoticeLanguage


class NoticeTemplate(models.Model):
    """A notice's text in one language (Django template syntax, rendered in a sandbox:
    incidents/affected/letters.py). ``kind`` "base" is the letter itself, "sms" the short text
    sent by SMS, and a data category's value the advice added when that category leaked.
    Seeded in Persian and English (migration incidents/0007); admin-editable."""

    BASE = "base"

    kind = models.CharField(_("kind"), max_length=32)
    language = models.CharField(_("language"), max_length=2, choices=NoticeLanguage.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), max_length=20000)

    class Meta:
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        ordering = ["kind", "language"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "language"], name="notice_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.language})"


class SecondPerson(Roles):
    """Legal or an admin who did not draft the campaign (four eyes: whoever wrote a notice to a
    hundred thousand people is not the one who lets it go). Without an instance (the runner
    asking whether a role may ever approve) only the role counts."""

    def __call__(self, instance: Any, user: Any) -> bool:
        if not super().__call__(instance, user):
            return False
        return instance is None or instance.drafted_by_id != getattr(user, "pk", None)


FOUR_EYES = SecondPerson(LEGAL, ADMIN)


class TheWorker(Roles):
    """No person: the notifier worker (actor None) starts and finishes sending, so no page or
    API offers these steps to anyone."""

    def __call__(self, instance: Any, user: Any) -> bool:
        return user is None


WORKER = TheWorker()


class NoticeCampaignQuerySet(models.QuerySet):
    def in_flight(self) -> NoticeCampaignQuerySet:
        """Approved and not yet finished: what the worker plans and sends."""
        return self.filter(state__in=(NoticeCampaign.APPROVED, NoticeCampaign.SENDING))


class NoticeCampaign(FSMModelMixin, models.Model):
    """One notice to every person in an incident's register not yet told. Four eyes: whoever
    drafted it cannot approve it. The worker plans its notices in batches (``planned_through``:
    the last person id given a notice) and finishes it when none is left to send."""

    DRAFT, APPROVED, SENDING, FINISHED, CANCELLED = (
        "draft",
        "approved",
        "sending",
        "finished",
        "cancelled",
    )
    STATES = [
        (DRAFT, _("Draft")),
        (APPROVED, _("Approved")),
        (SENDING, _("Sending")),
        (FINISHED, _("Finished")),
        (CANCELLED, _("Cancelled")),
    ]

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="notice_campaigns"
    )
    state = FSMField(default=DRAFT, choices=STATES, protected=True)
    # {"fa": ..., "en": ...}: the texts as approved (templates copied in at drafting, so a later
    # edit of a template never changes what a campaign said).
    subject = models.JSONField(_("subject"), default=dict)
    body = models.JSONField(_("body"), default=dict)
    # {"fa": ..., "en": ...}: the short text sent by SMS to people without an email.
    sms = models.JSONField(_("SMS text"), default=dict)
    # {"fa": [{"category": ..., "text": ...}], "en": [...]}: the advice for each leaked data
    # category, copied from the templates at drafting; the body shows it as {{ advice }}.
    advice = models.JSONField(_("advice"), default=dict)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.TextField(blank=True, max_length=5000)
    planned_through = models.BigIntegerField(default=0, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = NoticeCampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice campaign")
        verbose_name_plural = _("notice campaigns")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"campaign {self.pk} of incident {self.incident_id} ({self.state})"

    @transition(field=state, source=DRAFT, target=APPROVED, permission=FOUR_EYES)
    def approve(self, *, by: object, at: dt.datetime) -> None:
        self.approved_by, self.approved_at = by, at

    @transition(field=state, source=APPROVED, target=SENDING, permission=WORKER)
    def start_sending(self, *, at: dt.datetime) -> None:
        self.started_at = at

    @transition(field=state, source=SENDING, target=FINISHED, permission=WORKER)
    def finish(self, *, at: dt.datetime) -> None:
        self.finished_at = at

    # A campaign being sent can be stopped too (a wrong text noticed at the 500th letter): what
    # was sent stays sent, the rest is never claimed.
    @transition(
        field=state, source=[DRAFT, APPROVED, SENDING], target=CANCELLED, permission=LEGAL_TEAM
    )
    def cancel(self, *, reason: str, at: dt.datetime) -> None:
        self.cancelled_reason = reason
        self.cancelled_at = at


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class NoticeQuerySet(models.QuerySet):
    def due(self, now: dt.datetime | None = None) -> NoticeQuerySet:
        now = now or timezone.now()
        return self.filter(
            Q(status__in=(Notice.QUEUED, Notice.FAILED)),
            Q(next_attempt_at__lte=now),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        )

    def unsent(self) -> NoticeQuerySet:
        return self.filter(status__in=(Notice.QUEUED, Notice.FAILED))

    def tally(self) -> models.QuerySet:
        """One row per (campaign, channel, status): how many, and the first and last sent time.
        One GROUP BY in the database, however many notices."""
        return (
            self.values("campaign_id", "channel", "status")
            .annotate(
                count=models.Count("id"),
                first_sent_at=models.Min("sent_at"),
                last_sent_at=models.Max("sent_at"),
            )
            .order_by()
        )


class Notice(models.Model):
    """One person's notice of one campaign on one channel: the outbox row. ``digest`` is the
    SHA-256 of the message as sent, so what a person was told can be proven later without
    keeping their name or address beside it."""

    QUEUED, SENT, FAILED, DEAD = "queued", "sent", "failed", "dead"
    STATUSES = [
        (QUEUED, _("Queued")),
        (SENT, _("Sent")),
        (FAILED, _("Failed (will retry)")),
        (DEAD, _("Dead")),
    ]

    campaign = models.ForeignKey(NoticeCampaign, on_delete=models.PROTECT, related_name="notices")
    person = models.ForeignKey(AffectedPerson, on_delete=models.PROTECT, related_name="notices")
    channel = models.CharField(max_length=8, choices=NoticeChannel.choices)
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True, max_length=2000)
    digest = models.CharField(max_length=64, blank=True)
    # When the last attempt was claimed: what the sending rate counts (EMAIL_RATE_PER_MINUTE).
    attempted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="notice_once_per_person")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["channel", "attempted_at"]),
            # The worker's claim: the unsent of one channel, soonest due first, read in index
            # order and stopped at the batch (not every queued notice of a campaign sorted).
            models.Index(
                fields=["channel", "next_attempt_at", "id"],
                condition=Q(status__in=("queued", "failed")),
                name="notice_due",
            ),
        ]

    def __str__(self) -> str:
        return f"notice {self.pk} ({self.channel}, {self.status})"
