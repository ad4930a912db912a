"""Domain errors: each a ``core.errors.DomainError`` with the HTTP status it answers, mapped in
one place for every API view (core/api/exceptions.py); pages show their ``detail``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError


class UnknownTransition(DomainError):
    status = 404

    def __init__(self, name: str) -> None:
        super().__init__(_("Unknown transition '%(name)s'.") % {"name": name})


class IncidentNotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__(_("No incident matches the given reference."))


class RoleForbidden(DomainError):
    status = 403


class StaleVersion(DomainError):
    status = 412

    def __init__(self, current: int) -> None:
        message = _(
            "This record changed since you loaded it (now version %(version)s); reload, retry."
        )
        super().__init__(message % {"version": current}, version=current)
        self.current = current


class StateConflict(DomainError):
    status = 409

    def __init__(self, *, state: str, allowed: list[str], name: str) -> None:
        message = _("'%(name)s' is not allowed from state '%(state)s'.")
        super().__init__(message % {"name": name, "state": state}, state=state, allowed=allowed)
        self.state, self.allowed, self.name = state, allowed, name


class EditNotAllowed(DomainError):
    status = 409

    def __init__(self, state: str) -> None:
        message = _("A %(state)s incident cannot be edited; reopen it first.")
        super().__init__(message % {"state": state}, state=state)
        self.state = state


class RequirementsMissing(DomainError):
    status = 400

    def __init__(self, missing: list[str], detail: str | None = None, **extra: Any) -> None:
        """``extra``: keys that name what is missing (``tasks``: the open required ones)."""
        message = _("Required information is missing: %(fields)s")
        super().__init__(
            detail or message % {"fields": ", ".join(missing)}, missing=missing, **extra
        )
        self.missing = missing


class InvalidChange(DomainError):
    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("Invalid change."), **errors)
        self.errors = errors


class MomentOutOfOrder(InvalidChange):
    """A moment before (or after) one it must follow: ``name`` may not be placed so against
    ``field`` at ``bound``. The message names both for API clients; pages, which show moments
    in the reader's calendar, rebuild it from these with ``template``."""

    def __init__(self, name: str, template: str, field: str, bound: Any) -> None:
        when = timezone.localtime(bound).isoformat(timespec="minutes")
        super().__init__({name: [template % {"field": field, "moment": when}]})
        self.name, self.template, self.field, self.bound = name, template, field, bound
