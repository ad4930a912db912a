"""What monitoring systems send, read into one shape (issue 22 §3; docs/integrations.md).

Three bodies are understood, one per ``IntegrationKind``:

- Prometheus Alertmanager's webhook (``"version": "4"``): ``alerts[]`` of ``status``,
  ``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL``, ``fingerprint``.
- Grafana Alerting's webhook contact point: the same alerts, with Grafana's own additions
  (``values``, ``valueString``, ``silenceURL``, ``dashboardURL``, ...), which are not needed.
- The generic shape, for scripts: one alert ``{"title", "fingerprint"?, "severity"?,
  "status"?, "summary"?, "labels"?, "starts_at"?, "url"?}`` or ``{"alerts": [...]}`` of them.

Each alert becomes an ``Alert``: its fingerprint (the sender's, else a digest of its sorted
labels), title, severity, status and start. Reading writes nothing: a body with one bad alert
is refused whole, before anything is changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import DomainError
from incidents.choices import Severity
from incidents.models import Incident, IncomingAlert, IntegrationKind

FIRING, RESOLVED = "firing", "resolved"
ALERT_STATUSES = (FIRING, RESOLVED)
# One request opens, repeats or resolves at most this many alerts (Alertmanager's
# ``max_alerts`` keeps a sender within it; docs/integrations.md).
MAX_ALERTS = 100
MAX_LABELS = 64
LABEL_MAX_LENGTH = 1000
ANNOTATION_MAX_LENGTH = 10000
TITLE_MAX_LENGTH = Incident._meta.get_field("title").max_length
SUMMARY_MAX_LENGTH = Incident._meta.get_field("summary").max_length
FINGERPRINT_MAX_LENGTH = IncomingAlert._meta.get_field("fingerprint").max_length
NAME_MAX_LENGTH = IncomingAlert._meta.get_field("name").max_length

# Severity words monitoring systems use (Prometheus rules' ``severity`` label by convention,
# Grafana's, PagerDuty's, syslog's), as this project's severities. Others: the integration's
# default severity.
SEVERITY_WORDS = {
    Severity.CRITICAL: ("critical", "crit", "page", "emergency", "emerg", "fatal", "disaster",
                        "alert", "p1", "sev1", "s1"),
    Severity.HIGH: ("high", "error", "err", "major", "p2", "sev2", "s2"),
    Severity.MEDIUM: ("medium", "warning", "warn", "moderate", "average", "p3", "sev3", "s3"),
    Severity.LOW: ("low", "info", "informational", "notice", "minor", "none", "p4", "p5", "sev4",
                   "s4"),
}  # fmt: skip
SEVERITY_OF = {word: severity for severity, words in SEVERITY_WORDS.items() for word in words}


class TooManyAlerts(DomainError):
    status = 413

    def __init__(self, count: int) -> None:
        message = _("A request may carry at most %(max)d alerts; this one carries %(count)d.")
        super().__init__(message % {"max": MAX_ALERTS, "count": count}, max_alerts=MAX_ALERTS)


class BadAlerts(DomainError):
    """The body is not one the integration's kind reads; ``errors`` name the bad fields."""

    status = 400

    def __init__(self, errors: Any) -> None:
        super().__init__(
            _("The body is not an alert payload this integration reads."), errors=errors
        )


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str  # FIRING or RESOLVED
    name: str  # the alert's name (Prometheus' ``alertname``), for the admin and the timeline
    title: str
    severity: str | None  # None: the integration's default
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    summary: str = ""


class Labels(serializers.DictField):
    child = serializers.CharField(allow_blank=True, max_length=LABEL_MAX_LENGTH)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        if len(value) > MAX_LABELS:
            raise serializers.ValidationError(_("At most %(max)d labels.") % {"max": MAX_LABELS})
        if any(len(key) > LABEL_MAX_LENGTH or "\x00" in key for key in value):
            raise serializers.ValidationError(_("A label's name is too long or not text."))
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class Moment(serializers.Field):
    """An RFC 3339 time as senders write it; Go's zero time (``0001-01-01T00:00:00Z``, an
    alert that has not ended) and anything unreadable as a time become None."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> dt.datetime | None:
        if not isinstance(data, str) or len(data) > 64:
            raise serializers.ValidationError(_("Expected a time (RFC 3339)."))
        try:
            moment = parse_datetime(data) if data else None
        except ValueError:
            moment = None
        if moment is None or moment.year < 1971:
            return None
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)

    def to_representation(self, value: Any) -> Any:
        return value


class PrometheusAlertSerializer(serializers.Serializer):
    """One alert of Alertmanager's or Grafana's webhook body (their shared fields)."""

    status = serializers.ChoiceField(choices=ALERT_STATUSES)
    labels = Labels(required=False, default=dict)
    annotations = Labels(
        required=False,
        default=dict,
        child=serializers.CharField(allow_blank=True, max_length=ANNOTATION_MAX_LENGTH),
    )
    startsAt = Moment()  # noqa: N815 (the sender's names)
    endsAt = Moment()  # noqa: N815
    generatorURL = serializers.CharField(required=False, allow_blank=True, max_length=2000)  # noqa: N815
    fingerprint = serializers.CharField(
        required=False, allow_blank=True, max_length=FINGERPRINT_MAX_LENGTH
    )


class PrometheusBodySerializer(serializers.Serializer):
    """Alertmanager's (``version`` "4") or Grafana's webhook body: what is read of it."""

    alerts = serializers.ListField(child=PrometheusAlertSerializer(), allow_empty=True)


class GenericAlertSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=TITLE_MAX_LENGTH)
    fingerprint = serializers.CharField(required=False, max_length=FINGERPRINT_MAX_LENGTH)
    status = serializers.ChoiceField(choices=ALERT_STATUSES, default=FIRING)
    severity = serializers.CharField(required=False, allow_blank=True, max_length=32)
    summary = serializers.CharField(
        required=False, allow_blank=True, max_length=ANNOTATION_MAX_LENGTH
    )
    labels = Labels(required=False, default=dict)
    starts_at = Moment()
    url = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["status"] == FIRING and not attrs.get("title"):
            raise serializers.ValidationError({"title": [_("A firing alert needs a title.")]})
        if not (attrs.get("fingerprint") or attrs.get("title") or attrs["labels"]):
            raise serializers.ValidationError(
                _("An alert needs a fingerprint, a title or labels to be told apart.")
            )
        return attrs


class GenericBodySerializer(serializers.Serializer):
    alerts = serializers.ListField(child=GenericAlertSerializer(), allow_empty=True)


def read_alerts(kind: str, body: Any) -> list[Alert]:
    """The alerts of ``body`` as ``kind`` sends them. BadAlerts if it is not such a body,
    TooManyAlerts past MAX_ALERTS."""
    if not isinstance(body, dict):
        raise BadAlerts({"detail": [_("Expected a JSON object.")]})
    generic = kind == IntegrationKind.GENERIC
    if generic and "alerts" not in body:
        body = {"alerts": [body]}
    alerts = body.get("alerts")
    if isinstance(alerts, list) and len(alerts) > MAX_ALERTS:
        raise TooManyAlerts(len(alerts))
    serializer = (GenericBodySerializer if generic else PrometheusBodySerializer)(data=body)
    if not serializer.is_valid():
        raise BadAlerts(serializer.errors)
    read = _generic if generic else _prometheus
    return [read(alert) for alert in serializer.validated_data["alerts"]]


def _prometheus(alert: dict[str, Any]) -> Alert:
    labels, annotations = alert["labels"], alert["annotations"]
    name = labels.get("alertname", "")
    said = annotations.get("summary", "")
    title = f"{name}: {said}" if name and said else name or said
    fingerprint = alert.get("fingerprint") or digest_of(labels)
    title = title or _("Alert %(fingerprint)s") % {"fingerprint": fingerprint}
    return Alert(
        fingerprint=fingerprint,
        status=alert["status"],
        name=_cut(name, NAME_MAX_LENGTH),
        title=_cut(title, TITLE_MAX_LENGTH),
        severity=severity_of(labels.get("severity", "")),
        starts_at=alert.get("startsAt"),
        ends_at=alert.get("endsAt"),
        summary=_summary(
            annotations.get("description", ""),
            labels,
            source=alert.get("generatorURL", ""),
            runbook=annotations.get("runbook_url", ""),
        ),
    )


def _generic(alert: dict[str, Any]) -> Alert:
    labels = alert["labels"]
    title = alert.get("title", "")
    fingerprint = alert.get("fingerprint") or digest_of(labels or {"title": title})
    return Alert(
        fingerprint=fingerprint,
        status=alert["status"],
        name=_cut(labels.get("alertname") or title, NAME_MAX_LENGTH),
        title=title,
        severity=severity_of(alert.get("severity") or labels.get("severity", "")),
        starts_at=alert.get("starts_at"),
        ends_at=None,
        summary=_summary(alert.get("summary", ""), labels, source=alert.get("url", "")),
    )


def digest_of(labels: dict[str, str]) -> str:
    """A stable fingerprint of an alert that brings none: its labels, in sorted order."""
    raw = json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def severity_of(word: str) -> str | None:
    """The project's severity for a sender's word, None for one it does not know."""
    return SEVERITY_OF.get(word.strip().lower())


def _summary(text: str, labels: dict[str, str], *, source: str = "", runbook: str = "") -> str:
    """An incident's summary from an alert: the sender's text, its labels, where to look."""
    lines = [text, _labels_text(labels)]
    if source:
        lines.append(_("Source: %(url)s") % {"url": source})
    if runbook:
        lines.append(_("Runbook: %(url)s") % {"url": runbook})
    return _cut("\n\n".join(line for line in lines if line), SUMMARY_MAX_LENGTH)


def _labels_text(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    pairs = "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))
    return _("Labels:") + "\n" + pairs


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
