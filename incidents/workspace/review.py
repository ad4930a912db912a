"""The post-incident review (issue 20, section 3): once an incident is restored, responders write
down its root cause, what went well and what did not, and finish the review; closing a high or
critical incident needs it finished (settings.REVIEW_REQUIRED_SEVERITIES, the guard
``has_finished_review``). Its follow-up actions are incidents/workspace/follow_ups.py.

Every save is one event on the incident's timeline (``review.updated``, ``review.finished``,
``review.reopened``). The event names the fields that changed with the SHA-256 of each new text,
not the text: the review is staff prose that may mention people, and the log feeds the live
stream and the dossier's timeline; the digests still let the record prove what the review said
at each change (the review row holds the words, the dossier prints them).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.roles import WRITER_ROLES, has_any_role
from incidents.changing import changing, check_version
from incidents.choices import State
from incidents.errors import InvalidChange, RequirementsMissing, RoleForbidden
from incidents.events import append_event
from incidents.models import Event, Incident
from incidents.models.workspace import WORKSPACE_TEXT_MAX_LENGTH, Review

# The review's own words, in the order the page, the API and the documents show them.
REVIEW_TEXTS = ("root_cause", "went_well", "went_badly")
UPDATED, FINISHED, REOPENED = "review.updated", "review.finished", "review.reopened"


class NotRestoredYet(DomainError):
    """The review looks back on a restored breach: before that there is nothing to review."""

    status = 409

    def __init__(self, state: str) -> None:
        message = _("The review is written once the incident is restored; this one is %(state)s.")
        super().__init__(message % {"state": State(state).label}, state=state)


class ReviewFrozen(DomainError):
    """A finished review is the record the incident was closed on."""

    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


def may_write_review(user: Any) -> bool:
    """Engineers, legal and admins write the review and its follow-ups; executives read."""
    return has_any_role(user, WRITER_ROLES)


def ensure_may_write_review(user: Any) -> None:
    """RoleForbidden unless the user may write (callers may check before parsing)."""
    if not may_write_review(user):
        raise RoleForbidden(_("Your role may read the review but not write it."))


def is_reviewable(incident: Incident) -> bool:
    """Restored (or referred, closed since): ``restored_at`` stays set from then on."""
    return incident.restored_at is not None


def ensure_reviewable(incident: Incident) -> None:
    if not is_reviewable(incident):
        raise NotRestoredYet(incident.state)


def review_of(incident: Incident) -> Review:
    """The incident's review, or an unsaved empty one (version 0) when nobody wrote it yet."""
    found = Review.objects.filter(incident=incident).select_related("finished_by").first()
    return found or Review(incident=incident, version=0)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check_texts(texts: dict[str, str]) -> None:
    errors = {
        name: [_("At most %(max)d characters.") % {"max": WORKSPACE_TEXT_MAX_LENGTH}]
        for name, text in texts.items()
        if len(text) > WORKSPACE_TEXT_MAX_LENGTH
    }
    if errors:
        raise InvalidChange(errors)


def save_review(
    target: Incident | str,
    *,
    actor: Any,
    root_cause: str,
    went_well: str,
    went_badly: str,
    finished: bool,
    expected_version: int | None = None,
) -> tuple[Review, Event | None]:
    """Write the whole review (``expected_version``: the review's version, 0 before the first
    save). Finishing needs a root cause (400, ``missing: ["root_cause"]``). A finished review
    is changed only by reopening it (``finished=False``), which a closed incident refuses: it
    was closed on that review. Saving what is already stored writes nothing (no event)."""
    ensure_may_write_review(actor)
    texts = {"root_cause": root_cause, "went_well": went_well, "went_badly": went_badly}
    texts = {name: text.strip() for name, text in texts.items()}
    _check_texts(texts)
    if finished and not texts["root_cause"]:
        raise RequirementsMissing(["root_cause"], _("A finished review names the root cause."))
    with changing(target) as incident:
        ensure_reviewable(incident)
        review = Review.objects.filter(incident=incident).first()
        review = review or Review(incident=incident, version=0)
        check_version(review, expected_version)
        changes = {name: digest(t) for name, t in texts.items() if getattr(review, name) != t}
        kind = _kind(review, finished, bool(changes), incident)
        if kind is None:
            return review, None
        for name, text in texts.items():
            setattr(review, name, text)
        if kind == FINISHED:
            review.finished_by, review.finished_at = actor, timezone.now()
        elif kind == REOPENED:
            review.finished_by, review.finished_at = None, None
        review.version += 1
        review.save()
        data = {"review": {"version": review.version, "finished": review.finished}}
        event = append_event(incident, kind, actor=actor, data={**data, "changes": changes})
    return review, event


def _kind(review: Review, finished: bool, changed: bool, incident: Incident) -> str | None:
    """Which event a save is, or None when it changes nothing."""
    if review.finished and not finished:
        if incident.state == State.CLOSED:
            raise ReviewFrozen(
                _("The incident was closed on this review; reopen the incident to reopen it.")
            )
        return REOPENED
    if review.finished and changed:
        raise ReviewFrozen(_("This review is finished; reopen it to change it."))
    if finished and not review.finished:
        return FINISHED
    return UPDATED if changed else None
