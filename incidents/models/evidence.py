"""Evidence held for an authority and its chain of custody."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incidents.models.incident import Incident
from incidents.models.legal import Referral

# What identifies an evidence file wherever it is listed (the API, the dossier).
EVIDENCE_FILE = ("original_name", "content_type", "size", "sha256")


class Evidence(models.Model):
    """A file held for an authority. Stored under ``stored_name`` (server-made); the name it was
    uploaded with is metadata only and never touches the file system."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    stored_name = models.CharField(max_length=100, unique=True, editable=False)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.TextField(blank=True, max_length=5000)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    integrity_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"


class CustodyEntry(models.Model):
    """Chain of custody: who touched which evidence, as what role, when (UTC), and why."""

    UPLOADED, DOWNLOADED, HANDED_OVER, INTEGRITY_FAILED = (
        "uploaded",
        "downloaded",
        "handed_over",
        "integrity_failed",
    )
    ACTIONS = [
        (UPLOADED, _("Uploaded")),
        (DOWNLOADED, _("Downloaded")),
        (HANDED_OVER, _("Handed over")),
        (INTEGRITY_FAILED, _("Integrity check failed")),
    ]

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=ACTIONS)
    note = models.TextField(blank=True, max_length=5000)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "custody entries"

    def __str__(self) -> str:
        return f"{self.action} {self.evidence_id} by {self.actor_username}"
