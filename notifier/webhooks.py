"""Outbound webhooks (issue 22 §3): the event log's events, signed, to URLs admins register.

Each event a hook wants becomes one outbox row (channel ``webhook``) in the transaction that
derives the chat alerts, so webhooks share the outbox's retries and dead letters; the row's
``text`` is the exact JSON body, frozen when the row is made (docs/webhooks.md).

A webhook goes to a system outside the company's control, so a body carries ids, kinds, states
and severities only: never an incident's title or summary, never anything of the register of
people affected, never an event's free-form data. The actor's username is staff's, and still
scrubbed like every staff-written word that leaves us (``notifier.privacy``).

Need to know (issue 17): a restricted incident's events are not sent. The one exception is the
restriction itself, sent with the incident's reference and ``"restricted": true`` only, so a
receiver knows why it hears nothing more of that incident until the restriction is lifted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import DomainError
from core.pii import seal, unseal
from incidents.choices import SEVERITY_RANK, Severity
from incidents.labels import EVENT_LABELS
from incidents.models import Event
from incidents.need_to_know import RESTRICTED
from notifier.models import WEBHOOK, Delivery, OutboundWebhook
from notifier.privacy import scrub

SIGNATURE_HEADER = "X-BreachDesk-Signature"
DELIVERY_HEADER = "X-BreachDesk-Delivery"
EVENT_HEADER = "X-BreachDesk-Event"
SECRET_BYTES = 32
ACTOR_CHARS = 64
PING = "ping"


class InvalidWebhook(ValueError):
    """A registration refused: the message says what to change, in the active language."""


class SwitchedOff(DomainError):
    """A switched-off hook is sent nothing, a test delivery included."""

    status = 409

    def __init__(self) -> None:
        super().__init__(gettext("This webhook is switched off."))


def clean_url(url: str) -> str:
    """``url`` trimmed if a webhook may be registered for it, else InvalidWebhook."""
    url = (url or "").strip()
    parts = urlsplit(url) if _host_of(url) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or any(char.isspace() or not char.isprintable() for char in url)
    ):
        raise InvalidWebhook(gettext("A webhook URL must be an http or https URL with a host."))
    if parts.username or parts.password:
        # Credentials in a URL end up in logs and in the admin's lists.
        raise InvalidWebhook(gettext("A webhook URL must not hold a user name or password."))
    if len(url) > OutboundWebhook._meta.get_field("url").max_length:
        raise InvalidWebhook(gettext("This webhook URL is too long."))
    return url


def _host_of(url: str) -> str:
    """The URL's host as the transport connects to it (IDNA-encoded), or "" when the URL has
    none, a port out of range or 0, or a host that cannot be encoded: refused at registration,
    not at each attempt."""
    try:
        port = urlsplit(url).port  # ValueError past 65535
        host = httpx.URL(url).raw_host.decode("ascii")
    except (ValueError, UnicodeError, httpx.InvalidURL):
        return ""
    return "" if port == 0 else host


def clean_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = sorted({kind.strip() for kind in kinds if kind.strip()})
    unknown = [kind for kind in chosen if kind not in EVENT_LABELS]
    if unknown:
        raise InvalidWebhook(
            gettext("Unknown event kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)}
        )
    return chosen


def clean_severity(severity: str) -> str:
    if severity not in Severity.values:
        raise InvalidWebhook(
            gettext("Unknown severity %(severity)s; use one of: %(choices)s.")
            % {"severity": severity, "choices": ", ".join(Severity.values)}
        )
    return severity


def new_secret() -> tuple[str, str]:
    """A fresh signing secret and its sealed form for ``secret_sealed``."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, seal({"secret": secret})


def hook_secret(hook: OutboundWebhook) -> str:
    """The hook's signing secret, unsealed (``core.pii.Unreadable`` if no key opens it)."""
    return unseal(hook.secret_sealed)["secret"]


def register_webhook(
    *,
    name: str,
    url: str,
    kinds: Iterable[str] = (),
    min_severity: str = Severity.LOW,
    active: bool = True,
    created_by: Any = None,
) -> tuple[OutboundWebhook, str]:
    """Register a URL for the events of ``kinds`` (none: every kind) of incidents at least
    ``min_severity``. Returns the hook and its secret: shown once, stored only sealed."""
    url = clean_url(url)
    secret, sealed = new_secret()
    hook = OutboundWebhook.objects.create(
        name=(name or "").strip()[:100] or urlsplit(url).hostname or url,
        url=url,
        secret_sealed=sealed,
        kinds=clean_kinds(kinds),
        min_severity=clean_severity(min_severity),
        active=active,
        created_by=created_by,
    )
    return hook, secret


def rotate_secret(hook: OutboundWebhook) -> str:
    """Give the hook a new secret and return it (shown once). Rows already in the outbox are
    signed with the new one: the signature is made at each attempt."""
    secret, hook.secret_sealed = new_secret()
    hook.save(update_fields=["secret_sealed"])
    return secret


def active_webhooks() -> list[OutboundWebhook]:
    return list(OutboundWebhook.objects.filter(active=True).order_by("id"))


def wants(hook: OutboundWebhook, event: Event) -> bool:
    """Whether the hook asked for this event: its kind (no kinds: all) and the incident's
    severity at or above the hook's minimum."""
    if hook.kinds and event.kind not in hook.kinds:
        return False
    rank = SEVERITY_RANK.get(event.incident.severity, 0)
    return rank >= SEVERITY_RANK.get(hook.min_severity, 0)


def webhook_deliveries(event: Event, hooks: list[OutboundWebhook]) -> list[Delivery]:
    """The unsaved outbox rows of one event for the hooks that want it; call inside the
    transaction that advances the outbox's cursor. Key ``event:<seq>:webhook:<hook id>``."""
    incident = event.incident
    if incident.restricted and event.kind != RESTRICTED:
        return []
    chosen = [hook for hook in hooks if hook.active and wants(hook, event)]
    if not chosen:
        return []
    body = body_for(event)
    return [
        Delivery(
            key=f"event:{event.seq}:{WEBHOOK}:{hook.pk}",
            channel=WEBHOOK,
            kind=event.kind,
            event=event,
            incident=incident,
            webhook=hook,
            text=body,
        )
        for hook in chosen
    ]


def enqueue_ping(hook: OutboundWebhook) -> Delivery:
    """A test delivery to the hook, sent by the worker like an event's (an admin checking a
    receiver): ``{"kind": "ping", "at": ..., "webhook": <hook id>}``, no event, no incident.
    SwitchedOff if the hook is."""
    if not hook.active:
        raise SwitchedOff
    body = _dump({"kind": PING, "at": _utc(timezone.now()), "webhook": hook.pk})
    return Delivery.objects.create(
        key=f"{PING}:{hook.pk}:{uuid.uuid4().hex}",
        channel=WEBHOOK,
        kind=PING,
        webhook=hook,
        text=body,
    )


def body_for(event: Event) -> str:
    """The event as compact JSON, the fields of docs/webhooks.md and nothing else."""
    incident = event.incident
    if incident.restricted:
        return _dump(
            {
                "id": event.seq,
                "kind": event.kind,
                "at": _utc(event.created_at),
                "incident": {"reference": incident.reference, "restricted": True},
            }
        )
    body: dict[str, Any] = {
        "id": event.seq,
        "kind": event.kind,
        "at": _utc(event.created_at),
        "incident": {
            "reference": incident.reference,
            "severity": incident.severity,
            "state": event.to_state or incident.state,
            "restricted": False,
            "url": f"{settings.PUBLIC_BASE_URL}/incidents/{incident.reference}/",
        },
        "from_state": event.from_state or None,
        "to_state": event.to_state or None,
        "actor": scrub(event.actor_username)[:ACTOR_CHARS] or None,
    }
    body.update(_extras(event))
    return _dump(body)


def _extras(event: Event) -> dict[str, Any]:
    """The few fields of an event's data that are names from a fixed vocabulary, never text
    people wrote: which fields an edit changed (and a severity's old value), an escalation's
    level and whom it called."""
    data = event.data or {}
    if event.kind == "updated":
        changes = data.get("changes") or {}
        extras: dict[str, Any] = {"changed": sorted(changes)}
        severity = changes.get("severity")
        if isinstance(severity, dict) and severity.get("from") in Severity.values:
            extras["from_severity"] = severity["from"]
        return extras
    if event.kind == "escalated":
        extras = {"level": data.get("level")}
        if isinstance(data.get("target"), str):
            extras["target"] = data["target"]
        return extras
    return {}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, timestamp: int, body: str) -> str:
    """``X-BreachDesk-Signature``'s value: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
    ``"<t>.<raw body>"`` with the hook's secret."""
    signed = f"{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
