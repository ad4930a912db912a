"""Roles are Django groups; superusers act as admins. Every server-side check goes through here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission

ENGINEER = "engineer"
LEGAL = "legal"
EXECUTIVE = "executive"
ADMIN = "admin"
GROUP_ROLES = (ENGINEER, LEGAL, EXECUTIVE)
WRITER_ROLES = frozenset({ENGINEER, LEGAL, ADMIN})

# Where a user object keeps its roles once read: the object lives for one request (or one
# batch of the notifier), so a role taken away applies from the next one.
_CACHE = "_breach_desk_roles"


def roles_of(user: Any) -> frozenset[str]:
    """The user's roles, read once per user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE, None)
    if cached is None:
        load_roles([user])
        cached = getattr(user, _CACHE)
    return cached


def load_roles(users: Iterable[Any]) -> None:
    """Read the roles of many users in one query (the notifier routes an event to every linked
    person) and keep each on its user object, where ``roles_of`` finds it."""
    users = [u for u in users if getattr(u, "pk", None) is not None]
    names: dict[int, set[str]] = {u.pk: set() for u in users}
    memberships = (
        get_user_model()
        .groups.through.objects.filter(user_id__in=names, group__name__in=GROUP_ROLES)
        .values_list("user_id", "group__name")
    )
    for user_id, name in memberships:
        names[user_id].add(name)
    for user in users:
        setattr(user, _CACHE, frozenset(names[user.pk] | ({ADMIN} if user.is_superuser else set())))


def holding(user: Any, roles: frozenset[str]) -> Any:
    """``user`` taken to hold ``roles`` (read elsewhere, e.g. by the live stream's re-check):
    a stand-in reader whose roles are given rather than looked up."""
    setattr(user, _CACHE, frozenset(roles))
    return user


def stand_in(user_id: int | None, roles: frozenset[str]) -> Any:
    """An unsaved, active user of id ``user_id`` holding ``roles``: a reader built from what
    the read rules look at (the roles and the id), never loaded."""
    return holding(get_user_model()(pk=user_id, is_active=True), roles)


def has_any_role(user: Any, allowed: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
    return bool(roles_of(user) & set(allowed))


class Roles:
    """ "The user holds one of these roles": a django-fsm ``permission=`` (a callable of the
    instance and the user), declarative enough for a spec or a page to say who may run what."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def __call__(self, instance: Any, user: Any) -> bool:
        return has_any_role(user, self.names)

    def __repr__(self) -> str:
        return f"Roles({', '.join(sorted(self.names))})"


ENGINEERS = Roles(ENGINEER, ADMIN)
LEGAL_TEAM = Roles(LEGAL, ADMIN)
WRITERS = Roles(*WRITER_ROLES)
ADMINS = Roles(ADMIN)


def primary_role(user: Any) -> str | None:
    """The most powerful role, for display and audit records."""
    roles = roles_of(user)
    for name in (ADMIN, LEGAL, ENGINEER, EXECUTIVE):
        if name in roles:
            return name
    return None


# What someone signed in without any role hears, from the API, the pages and the stream alike.
NO_ROLE = gettext_lazy("Your account has no Breach Desk role.")


class AnyRole(BasePermission):
    """Any Breach Desk role, for any method (following an incident changes nothing of it)."""

    message = NO_ROLE

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(roles_of(request.user))


class HasRole(BasePermission):
    """Any Breach Desk role may read; only writer roles may use unsafe methods by default.

    Views narrow this further (e.g. creating incidents is for engineers and admins).
    """

    message = NO_ROLE

    def has_permission(self, request: Any, view: Any) -> bool:
        roles = roles_of(request.user)
        if not roles:
            return False
        if request.method in SAFE_METHODS:
            return True
        if roles & WRITER_ROLES:
            return True
        self.message = gettext_lazy("Your role may read but not change anything.")
        return False
