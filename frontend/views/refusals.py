"""A domain refusal in the page's words: fields by their labels, steps and states by their
names, moments in the reader's calendar, lists with the language's comma. The API answers with
the machine's names (docs/api.md); a person reading the incident page should not meet
"'dismiss' is not allowed from state 'closed'" or an ISO time. Digits are the page's: the error
summary (partials/error_summary.html) writes them in Persian for a Persian reader."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.formats import list_separator, moment
from incidents.choices import State
from incidents.errors import (
    DomainError,
    EditNotAllowed,
    InvalidChange,
    MomentOutOfOrder,
    RequirementsMissing,
    StaleVersion,
    StateConflict,
)
from incidents.labels import FIELD_LABELS, RECORD_TRANSITION_LABELS, TRANSITION_LABELS, label


def readable(error: InvalidChange) -> dict[str, list[str]]:
    """The refusal's messages for a page: a moment it names is shown in the reader's calendar
    and a field by its label, not as the API's ISO time and field name."""
    if isinstance(error, MomentOutOfOrder):
        field = str(FIELD_LABELS.get(error.field, error.field))
        return {error.name: [error.template % {"field": field, "moment": moment(error.bound)}]}
    return error.errors


def message(error: DomainError) -> str:
    """What the page says about a refused change (shown in the error summary)."""
    if isinstance(error, StaleVersion):
        # Not the API's "now version N": the page shows no versions, it shows the change.
        return _(
            "Someone else changed this incident while you worked. The page now shows their "
            "change; what you typed is still in the form: check it and send it again."
        )
    if isinstance(error, RequirementsMissing):
        missing = (str(FIELD_LABELS.get(m, m)) for m in error.missing)
        return _("Still missing: %(fields)s") % {"fields": list_separator().join(missing)}
    if isinstance(error, InvalidChange):
        return " ".join(
            f"{FIELD_LABELS.get(k, k)}: {' '.join(map(str, v))}" for k, v in readable(error).items()
        )
    if isinstance(error, StateConflict):
        step = TRANSITION_LABELS.get(error.name) or RECORD_TRANSITION_LABELS.get(error.name)
        return _("“%(step)s” is not possible now: the record is %(state)s. Reload the page.") % {
            "step": step or error.name,
            "state": label(State, error.state),
        }
    if isinstance(error, EditNotAllowed):
        return _("A %(state)s incident cannot be edited; reopen it first.") % {
            "state": label(State, error.state)
        }
    return error.detail
