"""Monitoring systems that open incidents (issue 22): an integration per sender, and the alerts
it sent, deduplicated by fingerprint while their incident is open (incidents/integrations.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.choices import Severity


class IntegrationKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana"
    GENERIC = "generic", "generic JSON"


class Integration(models.Model):
    """One sender of alerts. Its URL carries a secret key, ``/api/integrations/<key>/alerts/``;
    only the key's SHA-256 is stored, like an API token's."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=IntegrationKind.choices)
    key_digest = models.CharField(max_length=64, unique=True)
    # The severity of an incident opened by an alert that names none it knows.
    default_severity = models.CharField(
        max_length=16, choices=Severity.choices, default=Severity.HIGH
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_received_at = models.DateTimeField(null=True, blank=True)
    # Who the timeline names for what this integration does: a service account of its own with
    # the engineer role (logging incidents is an engineer's right) and no usable password
    # (incidents/integrations.py makes it).
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="integration",
        editable=False,
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class IncomingAlert(models.Model):
    """One alert (by fingerprint) of one integration, and the incident it opened. While it is
    open, a repeat adds an event to that incident instead of opening another; once resolved or
    its incident closed, the same fingerprint opens a new one."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=200)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="incoming_alerts"
    )
    is_open = models.BooleanField(default=True)
    name = models.CharField(max_length=200, blank=True)  # the alert's name, for the admin
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    repeats = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Repeats are noted on the timeline at most once per interval, each note counting the
    # repeats since the one before (a sender re-posting every minute must not flood it).
    noted_at = models.DateTimeField(default=timezone.now)
    noted_repeats = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "fingerprint"],
                condition=Q(is_open=True),
                name="incomingalert_open_fingerprint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}: {self.fingerprint}"
