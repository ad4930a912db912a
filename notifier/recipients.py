"""Who gets which alert (issue 4, "Who gets what"). Pure reads; the outbox writes."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from core.roles import ADMIN, ENGINEER, EXECUTIVE, LEGAL, load_roles, roles_of
from incidents.acknowledgements import ACKNOWLEDGED, ESCALATED
from incidents.choices import SEVERITY_RANK, Severity
from incidents.lifecycle import TRANSITIONS
from incidents.models import Event, sees
from incidents.workspace.tasks import TASK_EVENTS
from incidents.workspace.updates import STATUS_UPDATE
from notifier.models import AlertPreference, ChatLink, Subscription
from notifier.task_alerts import assigned_to

LEGAL_TRANSITIONS = frozenset({"refer", "close"})
# Notice campaigns (issue 18): legal hears of a draft (a second person must approve it), of the
# approval, of the end of sending and of a cancellation; the events hold ids and counts only.
CAMPAIGN_EVENTS = frozenset(
    {"campaign.drafted", "campaign.approve", "campaign.finish", "campaign.cancel"}
)


def _wanted(event: Event, link: ChatLink, roles: frozenset[str], followers: set[int]) -> bool:
    incident = event.incident
    critical = incident.severity == Severity.CRITICAL
    if event.kind == "created":
        if ENGINEER in roles:
            return SEVERITY_RANK[incident.severity] >= SEVERITY_RANK[link.min_severity]
        return critical and EXECUTIVE in roles
    if event.kind in TRANSITIONS:
        if link.user_id == incident.commander_id or link.user_id in followers:
            return True
        if event.kind in LEGAL_TRANSITIONS and LEGAL in roles:
            return True
        return critical and EXECUTIVE in roles
    if event.kind == "updated":
        # A scope change that made the notification decision stale: legal must decide again.
        if event.data.get("notification") == "stale" and LEGAL in roles:
            return True
        # Edits are not alerts, except a severity change: raised to critical, executives hear too.
        change = (event.data.get("changes") or {}).get("severity")
        if not change:
            return False
        if link.user_id == incident.commander_id or link.user_id in followers:
            return True
        return change.get("to") == Severity.CRITICAL and EXECUTIVE in roles
    if event.kind == ACKNOWLEDGED:
        return link.user_id == incident.commander_id or link.user_id in followers
    if event.kind == STATUS_UPDATE:  # what following an incident is for (issue 20)
        return link.user_id == incident.commander_id or link.user_id in followers
    if event.kind in TASK_EVENTS:  # a task assigned to someone: theirs alone (issue 20)
        return assigned_to(event) == link.user.get_username()
    if event.kind == ESCALATED:
        return bool(roles & {ADMIN, EXECUTIVE})
    if event.kind in CAMPAIGN_EVENTS:
        return LEGAL in roles
    return False


def active_links() -> list[ChatLink]:
    """Active links with their users' roles loaded in one query, not one per user (the worker
    reads them for every batch of events, and a commit-to-Telegram budget is milliseconds)."""
    # Interim until notifier/preferences.py: the chat's channel preference's threshold.
    threshold = AlertPreference.objects.filter(
        user=OuterRef("user"), channel=OuterRef("channel")
    ).values("min_severity")[:1]
    links = list(
        ChatLink.objects.active()
        .select_related("user")
        .annotate(min_severity=Coalesce(Subquery(threshold), Value(Severity.LOW)))
    )
    load_roles(link.user for link in links)
    return links


def recipients(event: Event, links: list[ChatLink] | None = None) -> list[ChatLink]:
    """Active links that should hear about this event; never the person who caused it, nor
    anyone who may not read its incident (need to know: one query, for restricted ones only)."""
    if links is None:
        links = active_links()
    followers = set(
        Subscription.objects.filter(incident_id=event.incident_id).values_list("user_id", flat=True)
    )
    audience = event.incident.audience()
    chosen = []
    for link in links:
        if event.actor_id is not None and link.user_id == event.actor_id:
            continue
        roles = roles_of(link.user)
        if sees(roles, link.user_id, audience) and _wanted(event, link, roles, followers):
            chosen.append(link)
    return chosen
