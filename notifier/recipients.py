"""Who gets which alert, on which channel (issues 4 and 22, "Who gets what"). Pure reads; the
outbox writes.

Who: the per-person rules of ``_wanted`` (role, commander, follower, assignee, the people an
escalation level calls). Where: each of the person's active chat links and their account email,
each filtered by the person's preference for that channel (``notifier.preferences``). Everything
a batch of events needs is read once (``reach``, ``Context``), so routing 200 events costs the
same few queries as routing one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import Profile
from core.roles import ADMIN, ENGINEER, EXECUTIVE, LEGAL, load_roles, roles_of
from incidents.acknowledgements import ACKNOWLEDGED, ESCALATED
from incidents.choices import Severity
from incidents.integrations import ALERT_RESOLVED
from incidents.lifecycle import TRANSITIONS
from incidents.models import Event, Task, sees
from incidents.workspace.tasks import TASK_EVENTS
from incidents.workspace.updates import STATUS_UPDATE
from notifier.models import EMAIL, ChatLink, Subscription
from notifier.preferences import Alert, Preferences, allows, preferences_of, quiet_until
from notifier.task_alerts import assigned_to

LEGAL_TRANSITIONS = frozenset({"refer", "close"})
# Notice campaigns (issue 18): legal hears of a draft (a second person must approve it), of the
# approval, of the end of sending and of a cancellation; the events hold ids and counts only.
CAMPAIGN_EVENTS = frozenset(
    {"campaign.drafted", "campaign.approve", "campaign.finish", "campaign.cancel"}
)


@dataclass(frozen=True)
class Route:
    """One place one person is reached: a chat on a bot channel, or their email (no chat)."""

    user: Any
    channel: str
    chat_id: int | None = None

    @property
    def user_id(self) -> int:
        return self.user.pk


@dataclass
class Reach:
    """Everyone who can be reached, and how, read once per batch: active chat links, the
    account emails (when email alerts are on), roles, preferences and profiles."""

    people: dict[int, Any] = field(default_factory=dict)
    routes: dict[int, list[Route]] = field(default_factory=dict)
    preferences: Preferences = field(default_factory=lambda: Preferences([]))
    profiles: dict[int, Profile] = field(default_factory=dict)

    def profile(self, user: Any) -> Profile:
        return self.profiles.get(user.pk) or Profile(user=user)

    def language(self, user: Any) -> str:
        return self.profile(user).effective_language()

    def time_zone(self, user: Any) -> str:
        return self.profile(user).effective_time_zone()


def reach(*, email: bool = True, users: Iterable[Any] | None = None) -> Reach:
    """Read who can be reached (constant queries, whatever the number of people); only
    ``users`` when given."""
    found = Reach()
    links = ChatLink.objects.active().select_related("user").order_by("channel", "id")
    people = get_user_model().objects.filter(is_active=True).exclude(email="")
    if users is not None:
        ids = [u.pk for u in users]
        links, people = links.filter(user_id__in=ids), people.filter(pk__in=ids)
    for link in links:
        found.people.setdefault(link.user_id, link.user)
        route = Route(found.people[link.user_id], link.channel, link.chat_id)
        found.routes.setdefault(link.user_id, []).append(route)
    if email and settings.EMAIL_ALERTS:
        for user in people:
            user = found.people.setdefault(user.pk, user)
            found.routes.setdefault(user.pk, []).append(Route(user, EMAIL))
    load_roles(found.people.values())
    found.preferences = preferences_of(found.people)
    found.profiles = {p.user_id: p for p in Profile.objects.filter(user__in=list(found.people))}
    return found


@dataclass
class Context:
    """Per-incident facts a batch of events needs: followers and task assignees, one query
    each for the whole batch."""

    followers: dict[int, set[int]]
    assignees: dict[int, set[int]]


def context_for(events: Iterable[Event]) -> Context:
    ids = {event.incident_id for event in events}
    followers: dict[int, set[int]] = defaultdict(set)
    for incident_id, user_id in Subscription.objects.filter(incident_id__in=ids).values_list(
        "incident_id", "user_id"
    ):
        followers[incident_id].add(user_id)
    assignees: dict[int, set[int]] = defaultdict(set)
    tasks = Task.objects.filter(incident_id__in=ids, assignee__isnull=False)
    for incident_id, user_id in tasks.values_list("incident_id", "assignee_id"):
        assignees[incident_id].add(user_id)
    return Context(followers, assignees)


def _wanted(event: Event, user: Any, roles: frozenset[str], followers: set[int]) -> bool:
    incident = event.incident
    critical = incident.severity == Severity.CRITICAL
    if event.kind == "created":
        # Each channel's severity threshold is the person's preference (notifier.preferences).
        return ENGINEER in roles or (critical and EXECUTIVE in roles)
    if event.kind in TRANSITIONS:
        if user.pk == incident.commander_id or user.pk in followers:
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
        if user.pk == incident.commander_id or user.pk in followers:
            return True
        return change.get("to") == Severity.CRITICAL and EXECUTIVE in roles
    if event.kind == ACKNOWLEDGED:
        return user.pk == incident.commander_id or user.pk in followers
    if event.kind == STATUS_UPDATE:  # what following an incident is for (issue 20)
        return user.pk == incident.commander_id or user.pk in followers
    if event.kind in TASK_EVENTS:  # a task assigned to someone: theirs alone (issue 20)
        return assigned_to(event) == user.get_username()
    if event.kind == ESCALATED:
        notify = event.data.get("notify")
        if notify is not None:  # the people this level calls (notifier/escalation.py)
            return user.pk in notify
        return bool(roles & {ADMIN, EXECUTIVE})
    if event.kind in CAMPAIGN_EVENTS:
        return LEGAL in roles
    if event.kind == ALERT_RESOLVED:  # monitoring says the alert that opened it has cleared
        return user.pk == incident.commander_id or user.pk in followers
    return False


def recipients(
    event: Event,
    found: Reach | None = None,
    context: Context | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[Route]:
    """The routes that should hear about this event; never the person who caused it, nor
    anyone who may not read its incident (need to know: one query, for restricted ones only),
    nor a channel whose preference declines it."""
    found = found if found is not None else reach()
    context = context if context is not None else context_for([event])
    now = now or timezone.now()
    incident = event.incident
    followers = context.followers.get(event.incident_id, set())
    audience = incident.audience()
    chosen = []
    for user_id, user in found.people.items():
        if event.actor_id is not None and user_id == event.actor_id:
            continue
        roles = roles_of(user)
        if not (sees(roles, user_id, audience) and _wanted(event, user, roles, followers)):
            continue
        alert = _alert(event, user_id, followers, context.assignees.get(event.incident_id, set()))
        zone = found.time_zone(user)
        for route in found.routes.get(user_id, []):
            pref = found.preferences.of(user_id, route.channel)
            if allows(pref, alert, now=now, time_zone=zone):
                chosen.append(route)
    return chosen


def _alert(event: Event, user_id: int, followers: set[int], assignees: set[int]) -> Alert:
    incident = event.incident
    escalation = event.kind == ESCALATED
    named = escalation and user_id in (event.data.get("notify") or ())
    own = named or user_id == incident.commander_id or user_id in followers or user_id in assignees
    critical = incident.severity == Severity.CRITICAL
    return Alert(incident.severity, own=own, urgent=critical or escalation, escalation=escalation)


def personal_routes(
    user: Any,
    found: Reach,
    *,
    channels: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[Route, dt.datetime | None]]:
    """Where a message meant for this one person goes (a reminder, a shift taken from them),
    with when it may go: every route whose channel they left on, not filtered by severity or
    own incidents; in quiet hours held until they end rather than dropped."""
    now = now or timezone.now()
    zone = found.time_zone(user)
    wanted = None if channels is None else set(channels)
    chosen = []
    for route in found.routes.get(user.pk, []):
        if wanted is not None and route.channel not in wanted:
            continue
        pref = found.preferences.of(user.pk, route.channel)
        if pref.enabled:
            chosen.append((route, quiet_until(pref, now=now, time_zone=zone)))
    return chosen
