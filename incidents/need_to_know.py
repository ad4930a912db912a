"""Need-to-know incidents (issue 17): restricting an incident to its members, and the log of
who read what.

Who reads a restricted incident: its members, its commander (always, without being listed: the
person driving the incident cannot be shut out of it, and handing command over hands the access
over) and admins. The rule is ``IncidentQuerySet.visible_to`` (one query condition) and its
in-memory twin ``incidents.models.sees``; every read path starts from one of them, so a
non-member meets the same 404 as for a reference that does not exist.

Who changes it: the commander, legal and admins, each of whom must first see the incident. A
person who restricts an incident they would not otherwise see (legal, not its commander) is
added to its members in the same change, so restricting never locks out the one who did it.
Every change is an event (``restriction.on``/``restriction.off``, ``members.added``/
``members.removed``, with usernames).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, LEGAL, load_roles, roles_of
from incidents.changing import changing, save_changes, snapshot
from incidents.errors import InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import AccessKind, AccessRecord, Event, Incident

RESTRICTED = "restriction.on"
UNRESTRICTED = "restriction.off"
MEMBERS_ADDED = "members.added"
MEMBERS_REMOVED = "members.removed"
USER_AGENT_MAX = AccessRecord._meta.get_field("user_agent").max_length


def may_restrict(user: Any, incident: Incident) -> bool:
    """The commander, legal and admins (of an incident the caller already sees)."""
    roles = roles_of(user)
    if roles & {ADMIN, LEGAL}:
        return True
    return bool(roles) and incident.commander_id is not None and incident.commander_id == user.pk


def ensure_may_restrict(user: Any, incident: Incident) -> None:
    if not may_restrict(user, incident):
        raise RoleForbidden(
            _("Only the incident's commander, legal and admins may change who reads it.")
        )


def change_restriction(
    incident: Incident,
    *,
    actor: Any,
    restricted: bool | None = None,
    members: Iterable[str] | None = None,
    expected_version: int | None = None,
) -> tuple[Incident, list[Event]]:
    """Turn the restriction on or off and/or set the member list (usernames). One event per
    kind of change; no change, no event. Call with an incident the actor sees; RoleForbidden
    unless ``may_restrict``, InvalidChange naming any username that is no user with a role."""
    with changing(incident, expected_version=expected_version) as locked:
        ensure_may_restrict(actor, locked)
        before = snapshot(locked)
        current = {u.pk: u for u in locked.members.all()}
        wanted = dict(current) if members is None else {u.pk: u for u in users_named(members)}
        turning_on = restricted is True and not locked.restricted
        if turning_on and ADMIN not in roles_of(actor) and actor.pk != locked.commander_id:
            wanted.setdefault(actor.pk, actor)
        added = [wanted[pk] for pk in wanted if pk not in current]
        removed = [current[pk] for pk in current if pk not in wanted]
        events = []
        if restricted is not None and restricted != locked.restricted:
            locked.restricted = restricted
            kind = RESTRICTED if restricted else UNRESTRICTED
            names = sorted(u.get_username() for u in wanted.values())
            events.append((kind, {"members": names}))
        if added:
            locked.members.add(*added)
            events.append((MEMBERS_ADDED, {"members": sorted(u.get_username() for u in added)}))
        if removed:
            locked.members.remove(*removed)
            names = sorted(u.get_username() for u in removed)
            events.append((MEMBERS_REMOVED, {"members": names}))
        if not events:
            return locked, []
        save_changes(locked, before)
        logged = [append_event(locked, kind, actor=actor, data=data) for kind, data in events]
    return locked, logged


def users_named(names: Iterable[str]) -> list[Any]:
    """The active users with a Breach Desk role called ``names`` (one query for the users, one
    for their roles); InvalidChange naming every other name."""
    wanted = list(dict.fromkeys(names))
    found = {
        u.get_username(): u
        for u in get_user_model().objects.filter(username__in=wanted, is_active=True)
    }
    load_roles(found.values())
    unknown = [n for n in wanted if n not in found or not roles_of(found[n])]
    if unknown:
        message = _("No Breach Desk user with a role is called: %(names)s.")
        raise InvalidChange({"members": [message % {"names": ", ".join(unknown)}]})
    return [found[n] for n in wanted]


def client_of(request: Any) -> tuple[str | None, str]:
    """From where a request came: its client address (daphne's, which behind the compose
    stack's nginx is the X-Forwarded-For it sets) and its user agent, cut to the column."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address: str | None = str(ipaddress.ip_address(raw))
    except ValueError:
        address = None
    return address, request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def record_access(
    request: Any, incident: Incident, kind: AccessKind, target: str = ""
) -> AccessRecord:
    """Append one access record: who (the request's user), what, when, from where."""
    address, agent = client_of(request)
    user = request.user
    return AccessRecord.objects.create(
        incident=incident,
        kind=kind,
        target=target[:80],
        user=user,
        username=user.get_username(),
        at=timezone.now(),
        address=address,
        user_agent=agent,
    )


def record_opened(request: Any, incident: Incident, where: str) -> None:
    """Opening an incident's page or API detail is logged when the incident is restricted."""
    if incident.restricted:
        record_access(request, incident, AccessKind.INCIDENT_OPENED, where)
