"""Domain errors. The API maps each to one HTTP status in one place (incidents/api/errors.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _


class DomainError(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict:
        return {"detail": self.detail}


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
        super().__init__(
            _("This record changed since you loaded it (now version %(version)s); reload, retry.")
            % {"version": current}
        )
        self.current = current

    def body(self) -> dict:
        return {"detail": self.detail, "version": self.current}


class StateConflict(DomainError):
    status = 409

    def __init__(self, *, state: str, allowed: list[str], name: str) -> None:
        super().__init__(
            _("'%(name)s' is not allowed from state '%(state)s'.") % {"name": name, "state": state}
        )
        self.state = state
        self.allowed = allowed

    def body(self) -> dict:
        return {"detail": self.detail, "state": self.state, "allowed": self.allowed}


class EditNotAllowed(DomainError):
    status = 409

    def __init__(self, state: str) -> None:
        super().__init__(
            _("A %(state)s incident cannot be edited; reopen it first.") % {"state": state}
        )
        self.state = state

    def body(self) -> dict:
        return {"detail": self.detail, "state": self.state}


class RequirementsMissing(DomainError):
    status = 400

    def __init__(self, missing: list[str], detail: str | None = None) -> None:
        super().__init__(
            detail
            or _("Required information is missing: %(fields)s") % {"fields": ", ".join(missing)}
        )
        self.missing = missing

    def body(self) -> dict:
        return {"detail": self.detail, "missing": self.missing}


class InvalidChange(DomainError):
    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("Invalid change."))
        self.errors = errors

    def body(self) -> dict:
        return {"detail": self.detail, **self.errors}


class MomentOutOfOrder(InvalidChange):
    """A moment before (or after) one it must follow: ``name`` may not be placed so against
    ``field`` at ``bound``. The message names both for API clients; pages, which show moments
    in the reader's calendar, rebuild it from these with ``template``."""

    def __init__(self, name: str, template: str, field: str, bound: Any) -> None:
        when = timezone.localtime(bound).isoformat(timespec="minutes")
        super().__init__({name: [template % {"field": field, "moment": when}]})
        self.name, self.template, self.field, self.bound = name, template, field, bound
