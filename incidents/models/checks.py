"""The public "Am I affected?" check (issue 18, "On the site"): a visitor of an incident's notice
page gives an email or a mobile, a one-time code goes to it, and only that code opens the answer.

One row is both the pending check and its code message's outbox row. It lives here, in the
domain, beside ``Notice`` and for the same reason: the web request writes it (the domain's
``request_code``) and the notifier worker claims, sends, retries and dead-letters it, and
``incidents`` may not import ``notifier``. Written and read only through
incidents/affected/checks.py (the check) and notifier/check_codes.py (the message).

What it holds of a person, and for how long:
- ``sealed``: the address and the code, sealed (core/pii.py) until the message is sent, dead or
  expired, then "";
- ``address_hash``: the keyed hash of the normalised address, the register's own look-up hash,
  until the code is verified or expires, then "";
- ``code_hash``: a keyed MAC of the code, until then too.
The rest (incident, channel, language, times, counts) is no one's personal data; a row is
deleted ``KEEP`` after it expired.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.incident import Incident
from incidents.models.notices import Notice, NoticeChannel
from incidents.models.register import NoticeLanguage

# How long a finished check's row (wiped of anything personal) stays, for the admin's view of
# code messages that could not be sent.
KEEP = dt.timedelta(days=7)


class AffectedCheckQuerySet(models.QuerySet):
    def sendable(self, now: dt.datetime | None = None) -> AffectedCheckQuerySet:
        """Code messages due now: unsent, not claimed by a live lease, not expired."""
        now = now or timezone.now()
        return self.filter(
            Q(status__in=(Notice.QUEUED, Notice.FAILED)),
            Q(next_attempt_at__lte=now),
            Q(expires_at__gt=now),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        ).exclude(sealed="")

    def expired_unwiped(self, now: dt.datetime | None = None) -> AffectedCheckQuerySet:
        """Expired checks that still hold an address, its hash or the code's."""
        now = now or timezone.now()
        return self.filter(expires_at__lte=now).filter(
            ~Q(sealed="") | ~Q(address_hash="") | ~Q(code_hash="")
        )


class AffectedCheck(models.Model):
    """One "Am I affected?" check: an address given on an incident's notice page and the one-time
    code sent to it (module docstring)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="+", verbose_name=_("incident")
    )
    # The bearer handle of the pending check in the page's hidden field: 32 random hex
    # characters, so every step-1 answer has the same length whichever address was given.
    handle = models.CharField(max_length=32, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=8, choices=NoticeChannel.choices)
    language = models.CharField(_("language"), max_length=2, choices=NoticeLanguage.choices)
    address_hash = models.CharField(max_length=64, blank=True, editable=False)
    # {"to": address, "code": code}, sealed; "" once sent, dead or expired.
    sealed = models.TextField(blank=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    # Codes entered (right or wrong): at most PUBLIC_CHECK_MAX_TRIES.
    tries = models.PositiveSmallIntegerField(_("codes entered"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # The code message as an outbox row, like a Notice: queued, sent, failed (retried), dead.
    status = models.CharField(
        _("message"), max_length=8, choices=Notice.STATUSES, default=Notice.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, max_length=2000)

    objects = AffectedCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("affected check")
        verbose_name_plural = _("affected checks")
        ordering = ["-id"]
        indexes = [
            # The worker's claim: the unsent of one channel, soonest due first.
            models.Index(
                fields=["channel", "next_attempt_at", "id"],
                condition=Q(status__in=("queued", "failed")),
                name="affected_check_due",
            ),
            models.Index(fields=["expires_at"], name="affected_check_expiry"),
        ]

    def __str__(self) -> str:
        # Never the address: this string reaches logs and the admin's history.
        return f"check {self.pk} of incident {self.incident_id} ({self.channel}, {self.status})"
