"""Roles are Django groups; superusers act as admins. Every server-side check goes through here."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy
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
    names = _group_names(user.pk) & set(GROUP_ROLES)
    if user.is_superuser:
        names.add(ADMIN)
    roles = frozenset(names)
    user._breach_desk_roles = roles
    return roles


def _group_names(user_id: int) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(_group_names_sql(), [user_id])
        return {name for (name,) in cursor.fetchall()}


@cache
def _group_names_sql() -> str:
    # Every API request asks for the caller's groups; written out once, the query costs a fifth
    # of what building it through the ORM each time does (bench/README.md, "Transitions").
    user_model = get_user_model()
    membership = user_model.groups.through._meta
    quote = connection.ops.quote_name
    group_id = quote(membership.get_field("group").column)
    user_id_column = quote(membership.get_field(user_model._meta.model_name).column)
    return (
        f"SELECT g.{quote('name')} FROM {quote(Group._meta.db_table)} g"
        f" JOIN {quote(membership.db_table)} m ON m.{group_id} = g.{quote(Group._meta.pk.column)}"
        f" WHERE m.{user_id_column} = %s"
    )


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

    message = gettext_lazy("Your account has no Breach Desk role.")

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
