"""Monitoring opens and follows incidents (issue 22 §3 inbound; docs/integrations.md).

An integration is one sender (an Alertmanager, a Grafana, a script) with a secret key in its
URL. Each alert it sends is told apart by its fingerprint:

- firing, and no open alert of that fingerprint: a new incident, logged by the integration's
  service account through ``create_incident``, its ``created`` event naming the integration;
- firing again while that alert is open and its incident too: a repeat, counted on the alert
  and noted on the incident's timeline at most once per ``INTEGRATION_REPEAT_NOTE_MINUTES``;
- resolved: ``alert.resolved`` on the timeline and the alert closed. The incident stays as it
  is: people close incidents, a metric going quiet does not end a breach;
- firing while the open alert's incident is closed or dismissed: that alert is retired and a
  new incident opened.

Two requests racing to open the same new fingerprint meet at the unique constraint on open
fingerprints (``incomingalert_open_fingerprint``): the loser's transaction rolls back whole and
its alert is taken again, now as a repeat of the winner's.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.models import key_digest
from core.roles import ENGINEER
from incidents.alert_formats import FIRING, Alert, read_alerts
from incidents.changing import changing
from incidents.choices import TERMINAL_STATES
from incidents.events import append_event
from incidents.lifecycle import create_incident
from incidents.models import IncomingAlert, Integration

logger = logging.getLogger(__name__)
ALERT_REPEATED = "alert.repeated"
ALERT_RESOLVED = "alert.resolved"
# The path a sender posts to; the key is the only secret (like Grafana OnCall's integration URLs).
PATH = "/api/integrations/{key}/alerts/"
ACCOUNT_PREFIX = "integration-"


@dataclass
class Received:
    """What one request did, as the sender is answered."""

    opened: list[str] = field(default_factory=list)  # references of new incidents
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0  # resolved alerts that had no open alert here (sent before we knew them)


def path_of(key: str) -> str:
    return PATH.format(key=key)


def add_integration(
    name: str, *, kind: str, default_severity: str | None = None, created_by: Any = None
) -> tuple[Integration, str]:
    """A new integration and its key, the one time the key exists in clear (only its digest is
    stored): the caller shows ``path_of(key)`` once. ValidationError for a bad name or kind."""
    integration = Integration(name=name, kind=kind, created_by=created_by)
    if default_severity:
        integration.default_severity = default_severity
    integration.full_clean(exclude=["key_digest"])
    return integration, register(integration)


def register(integration: Integration) -> str:
    """Save a new, validated ``integration`` (the admin's form, ``add_integration``) with a
    fresh key and its service account; the key is returned, the only time it exists."""
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        integration.key_digest = key_digest(key)
        integration.account = _service_account(integration.name)
        integration.save()
    return key


def rotate_key(integration: Integration) -> str:
    """A new key for ``integration``; the old one stops working at once."""
    key = secrets.token_urlsafe(32)
    integration.key_digest = key_digest(key)
    Integration.objects.filter(pk=integration.pk).update(key_digest=integration.key_digest)
    return key


def integration_for_key(key: str) -> Integration | None:
    """The active integration ``key`` belongs to, or None (unknown, inactive or absurd keys
    alike: the answer tells nothing about which)."""
    if not key or len(key) > 200:
        return None
    found = Integration.objects.filter(key_digest=key_digest(key), active=True)
    return found.select_related("account").first()


def _service_account(name: str) -> Any:
    """The integration's own user: an engineer (who logs incidents) without a usable password,
    named for the integration so the timeline says who logged what."""
    users = get_user_model()
    base = (ACCOUNT_PREFIX + (slugify(name, allow_unicode=True) or "alerts"))[:140]
    username, n = base, 1
    while users.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    account = users(username=username, first_name=name[:150])
    account.set_unusable_password()
    account.save()
    account.groups.add(Group.objects.get_or_create(name=ENGINEER)[0])
    return account


def ensure_account(integration: Integration) -> Any:
    """The integration's service account, made now for one that has none (a row written
    without ``register``, e.g. by a data migration)."""
    if integration.account_id is None:
        integration.account = _service_account(integration.name)
        Integration.objects.filter(pk=integration.pk).update(account=integration.account)
    return integration.account


def receive_alerts(integration: Integration, body: Any) -> Received:
    """Take a sender's body: every alert read first (BadAlerts/TooManyAlerts and nothing
    written if one is bad), then each in a transaction of its own, so one sender's hundred
    alerts never hold the log's lock all at once."""
    alerts = read_alerts(integration.kind, body)
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(last_received_at=now)
    integration.last_received_at = now
    account = ensure_account(integration)
    received = Received()
    for alert in alerts:
        _take(integration, account, alert, received)
    return received


def _take(integration: Integration, account: Any, alert: Alert, received: Received) -> None:
    # A race lost (another request opened or closed this fingerprint meanwhile) is taken again
    # with what that request left; three rounds are more than two requests can need.
    for _attempt in range(3):
        current = (
            IncomingAlert.objects.filter(
                integration=integration, fingerprint=alert.fingerprint, is_open=True
            )
            .select_related("incident")
            .first()
        )
        if alert.status != FIRING:
            if current is None:
                received.ignored += 1
            elif _resolve(integration, current, account, alert):
                received.resolved += 1
            else:
                continue
            return
        if current is not None and current.incident.state not in TERMINAL_STATES:
            if _repeat(integration, current, account, alert):
                received.repeated += 1
                return
            continue
        if current is not None:
            # Its incident was closed or dismissed: the alert firing now is a new breach.
            IncomingAlert.objects.filter(pk=current.pk, is_open=True).update(is_open=False)
        try:
            received.opened.append(_open(integration, account, alert))
            return
        except IntegrityError:
            logger.info("alert %s: another request opened it first", alert.fingerprint)
            continue
    # Not reached unless other requests keep opening and closing this very fingerprint.
    logger.warning("alert %s: not taken after three lost races", alert.fingerprint)
    received.ignored += 1


def _open(integration: Integration, account: Any, alert: Alert) -> str:
    """A new incident for ``alert`` and its open IncomingAlert, in one transaction; the
    IntegrityError of a lost race rolls both back."""
    now = timezone.now()
    starts = alert.starts_at
    data = {
        "title": alert.title,
        "summary": alert.summary,
        "severity": alert.severity or integration.default_severity,
        # The sender's start is when monitoring detected it; awareness is now, when it reached
        # us. A clock running ahead may not put detection after awareness.
        "detected_at": min(starts, now) if starts and starts.year >= 2000 else now,
        "aware_at": now,
    }
    with transaction.atomic():
        incident, _event = create_incident(
            actor=account, data=data, source=_source(integration, alert)
        )
        IncomingAlert.objects.create(
            integration=integration,
            fingerprint=alert.fingerprint,
            incident=incident,
            name=alert.name,
            first_seen_at=now,
            last_seen_at=now,
            noted_at=now,
        )
    return incident.reference


def _repeat(integration: Integration, current: IncomingAlert, account: Any, alert: Alert) -> bool:
    """Count a repeat, and note it on the timeline if the last note is old enough. False if
    the alert was closed meanwhile (the caller takes it again)."""
    now = timezone.now()
    with changing(current.incident_id) as incident:
        row = IncomingAlert.objects.get(pk=current.pk)
        if not row.is_open or incident.state in TERMINAL_STATES:
            return False
        row.repeats += 1
        row.last_seen_at = now
        every = dt.timedelta(minutes=settings.INTEGRATION_REPEAT_NOTE_MINUTES)
        if now - row.noted_at >= every:
            data = {**_source(integration, alert), "repeats": row.repeats - row.noted_repeats}
            append_event(incident, ALERT_REPEATED, actor=account, data=data)
            row.noted_at, row.noted_repeats = now, row.repeats
        row.save(update_fields=["repeats", "last_seen_at", "noted_at", "noted_repeats"])
    return True


def _resolve(integration: Integration, current: IncomingAlert, account: Any, alert: Alert) -> bool:
    """Close the alert and say so on its incident's timeline (closed incidents too: the record
    keeps what happened after). False if it was closed meanwhile."""
    now = timezone.now()
    with changing(current.incident_id) as incident:
        row = IncomingAlert.objects.get(pk=current.pk)
        if not row.is_open:
            return False
        row.is_open, row.resolved_at, row.last_seen_at = False, alert.ends_at or now, now
        row.save(update_fields=["is_open", "resolved_at", "last_seen_at"])
        data = {**_source(integration, alert), "repeats": row.repeats}
        append_event(incident, ALERT_RESOLVED, actor=account, data=data)
    return True


def _source(integration: Integration, alert: Alert) -> dict[str, Any]:
    """The alert in an event's data: the integration and the alert's name and fingerprint,
    never its labels or text (they may hold anything a rule's author put there)."""
    return {
        "integration": {"id": integration.pk, "name": integration.name},
        "alert": alert.name,
        "fingerprint": alert.fingerprint,
    }
