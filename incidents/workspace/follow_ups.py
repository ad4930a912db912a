"""Follow-up actions of the post-incident review: what must still change after the breach (a
title, an owner, a due date, a note), tracked to done after the incident closes; that is their
point, so unlike the incident's own fields they may be added and changed in any state once the
incident is restored. The dashboard shows the overdue ones (``FollowUp.objects.overdue``).

Each change is one event (``follow_up.added``, ``follow_up.updated``, ``follow_up.done``,
``follow_up.reopened``) carrying the follow-up's id and title and the changed fields (the
note by its SHA-256 only, like the review's texts)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import roles_of
from incidents.changing import changing, record_of
from incidents.errors import InvalidChange
from incidents.events import append_event
from incidents.models import Event, Incident
from incidents.models.workspace import (
    TASK_TITLE_MAX_LENGTH,
    WORKSPACE_TEXT_MAX_LENGTH,
    FollowUp,
)
from incidents.moments import EARLIEST
from incidents.workspace.review import digest, ensure_may_write_review, ensure_reviewable

# What a follow-up's change may touch; ``done`` stamps who and when.
FOLLOW_UP_FIELDS = ("title", "owner", "due_at", "note", "done")
# A due date is a plan, so it may lie ahead; years beyond this are a typo, not a plan (and
# outgrow the Jalali calendar's formatting).
LATEST_DUE = dt.timedelta(days=3660)
ADDED, UPDATED = "follow_up.added", "follow_up.updated"
DONE, REOPENED = "follow_up.done", "follow_up.reopened"


def owner_named(username: str | None) -> Any:
    """The active user with a Breach Desk role of that username (None for none given);
    InvalidChange on ``owner`` otherwise: a follow-up's owner is someone who can act on it."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not roles_of(user):
        raise InvalidChange({"owner": [_("No colleague has that user name.")]})
    return user


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The values cleaned (title and note stripped, owner resolved), or InvalidChange."""
    errors: dict[str, list[str]] = {}
    clean = dict(values)
    if "title" in clean:
        clean["title"] = (clean["title"] or "").strip()
        if not clean["title"]:
            errors["title"] = [_("A follow-up needs a title.")]
        elif len(clean["title"]) > TASK_TITLE_MAX_LENGTH:
            errors["title"] = [_("At most %(max)d characters.") % {"max": TASK_TITLE_MAX_LENGTH}]
    if "note" in clean:
        clean["note"] = (clean["note"] or "").strip()
        if len(clean["note"]) > WORKSPACE_TEXT_MAX_LENGTH:
            errors["note"] = [_("At most %(max)d characters.") % {"max": WORKSPACE_TEXT_MAX_LENGTH}]
    due = clean.get("due_at")
    if due is not None and not (EARLIEST <= due <= timezone.now() + LATEST_DUE):
        errors["due_at"] = [_("Give a due date within the next ten years.")]
    if errors:
        raise InvalidChange(errors)
    if "owner" in clean:
        clean["owner"] = owner_named(clean["owner"])
    return clean


def _described(follow_up: FollowUp, changed: dict[str, Any]) -> dict[str, Any]:
    """The event's data: which follow-up, and what changed in words a machine reads."""
    shown = {}
    for name in changed:
        value = getattr(follow_up, name)
        if name == "owner":
            shown[name] = value.get_username() if value else None
        elif name == "note":
            shown[name] = digest(value)
        else:
            shown[name] = value
    return {
        "follow_up": {"id": follow_up.pk, "title": follow_up.title, "done": follow_up.done},
        "changes": shown,
    }


def add_follow_up(
    target: Incident | str,
    *,
    actor: Any,
    title: str,
    owner: str | None = None,
    due_at: dt.datetime | None = None,
    note: str = "",
) -> tuple[FollowUp, Event]:
    """A new open follow-up (``owner`` a username), once the incident is restored."""
    ensure_may_write_review(actor)
    clean = _checked({"title": title, "owner": owner, "due_at": due_at, "note": note})
    with changing(target) as incident:
        ensure_reviewable(incident)
        follow_up = FollowUp.objects.create(incident=incident, created_by=actor, **clean)
        given = [name for name in ("title", "owner", "due_at", "note") if clean[name]]
        event = append_event(incident, ADDED, actor=actor, data=_described(follow_up, given))
    return follow_up, event


def update_follow_up(
    target: Incident | str,
    pk: int,
    *,
    actor: Any,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> tuple[FollowUp, Event | None]:
    """Change some of ``FOLLOW_UP_FIELDS`` (``done`` True stamps the actor and now, False
    clears them). One event, named by what happened to ``done`` if anything; none when nothing
    changed. ``FollowUp.DoesNotExist`` when ``pk`` is not this incident's."""
    ensure_may_write_review(actor)
    unknown = set(changes) - set(FOLLOW_UP_FIELDS)
    if unknown:
        raise InvalidChange({name: [_("Not a follow-up's field.")] for name in sorted(unknown)})
    clean = _checked(changes)
    with changing(target) as incident:
        follow_up = record_of(incident, FollowUp, pk, expected_version)
        was_done = follow_up.done
        changed = [n for n, v in clean.items() if n != "done" and getattr(follow_up, n) != v]
        for name in changed:
            setattr(follow_up, name, clean[name])
        done = clean.get("done", was_done)
        if done and not was_done:
            follow_up.done_by, follow_up.done_at = actor, timezone.now()
        elif was_done and not done:
            follow_up.done_by, follow_up.done_at = None, None
        if not changed and done == was_done:
            return follow_up, None
        follow_up.version += 1
        follow_up.save()
        kind = DONE if done and not was_done else REOPENED if was_done and not done else UPDATED
        event = append_event(incident, kind, actor=actor, data=_described(follow_up, changed))
    return follow_up, event
