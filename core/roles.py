"""Roles are Django groups; superusers act as admins. Every server-side check goes through here."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

ENGINEER = "engineer"
LEGAL = "legal"
EXECUTIVE = "executive"
ADMIN = "admin"
GROUP_ROLES = (ENGINEER, LEGAL, EXECUTIVE)
ALL_ROLES = (*GROUP_ROLES, ADMIN)
WRITER_ROLES = frozenset({ENGINEER, LEGAL, ADMIN})


def roles_of(user: Any) -> frozenset[str]:
    """The user's roles, cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_breach_desk_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.filter(name__in=GROUP_ROLES).values_list("name", flat=True))
    if user.is_superuser:
        names.add(ADMIN)
    roles = frozenset(names)
    user._breach_desk_roles = roles
    return roles


def has_any_role(user: Any, allowed: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
    return bool(roles_of(user) & set(allowed))


def primary_role(user: Any) -> str | None:
    """The most powerful role, for display and audit records."""
    roles = roles_of(user)
    for name in (ADMIN, LEGAL, ENGINEER, EXECUTIVE):
        if name in roles:
            return name
    return None


class HasRole(BasePermission):
    """Any Breach Desk role may read; only writer roles may use unsafe methods by default.

    Views narrow this further (e.g. creating incidents is for engineers and admins).
    """

    message = "Your account has no Breach Desk role."

    def has_permission(self, request: Any, view: Any) -> bool:
        roles = roles_of(request.user)
        if not roles:
            return False
        if request.method in SAFE_METHODS:
            return True
        if roles & WRITER_ROLES:
            return True
        self.message = "Your role may read but not change anything."
        return False
