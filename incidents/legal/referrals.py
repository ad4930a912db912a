"""Referrals to authorities: creating, editing and moving them through their lifecycle.

Every change appends an event to the incident's timeline in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, LEGAL, has_any_role, primary_role
from incidents.errors import InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import CustodyEntry, Event, Evidence, Incident, Referral
from incidents.moments import check_moments, check_not_before
from incidents.record_transitions import RecordLifecycle, locked_record, run_record_transition

EDITABLE = ("authority", "authority_name", "case_number", "contact", "notes")
TRANSITIONS = ("submit", "acknowledge", "start_investigation", "conclude", "withdraw")
# The moment a transition records, given as ``at`` in the payload or defaulting to now.
_MOMENT_ARG = {"submit": "submitted_at"}


def _call_args(referral: Referral, name: str, actor: Any, payload: dict[str, Any]) -> dict:
    args = {_MOMENT_ARG.get(name, "at"): payload.get("at") or timezone.now()}
    if name == "withdraw":
        args["reason"] = payload["reason"]
    return args


def _check_order(incident: Incident, referral: Referral, name: str, payload: dict) -> None:
    """A referral's moment (``at``) comes after its breach's detection and after every moment
    the referral already recorded: no answer before the submission."""
    check_not_before(
        "at",
        payload.get("at"),
        {
            "detected_at": incident.detected_at,
            "submitted_at": referral.submitted_at,
            "acknowledged_at": referral.acknowledged_at,
        },
    )


def _describe(referral: Referral) -> dict[str, Any]:
    return {"id": referral.pk, "authority": referral.authority, "case_number": referral.case_number}


LIFECYCLE = RecordLifecycle(
    model=Referral,
    kind="referral",
    transitions=TRANSITIONS,
    required={"withdraw": ("reason",), "conclude": ("outcome",)},
    staged={"acknowledge": ("case_number",), "conclude": ("outcome",)},
    call_args=_call_args,
    describe=_describe,
    check=_check_order,
)


def may_write_referrals(user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_write_referrals(actor: Any) -> None:
    """RoleForbidden unless the actor may record referrals (callers may check before parsing)."""
    if not may_write_referrals(actor):
        raise RoleForbidden(_("Only legal and admins record referrals."))


def create_referral(
    incident: Incident, *, actor: Any, data: dict[str, Any]
) -> tuple[Referral, Event]:
    """A new draft referral (``data`` already validated: the EDITABLE keys)."""
    ensure_may_write_referrals(actor)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        referral = Referral.objects.create(incident=locked, created_by=actor, **data)
        event = append_event(
            locked, "referral.created", actor=actor, data={"referral": _describe(referral), **data}
        )
    return referral, event


def update_referral(
    referral: Referral, *, actor: Any, changes: dict[str, Any], expected_version: int | None = None
) -> tuple[Referral, Event | None]:
    """Edit a referral's details; records old and new values. No-op edits write nothing."""
    ensure_may_write_referrals(actor)
    with locked_record(Referral, referral, expected_version) as (incident, locked):
        if locked.state not in Referral.OPEN:
            raise InvalidChange(
                {"state": [_("A %(state)s referral cannot be edited.") % {"state": locked.state}]}
            )
        diff = {}
        for key, new in changes.items():
            if key not in EDITABLE:
                raise InvalidChange({key: [_("Not editable.")]})
            if getattr(locked, key) != new:
                diff[key] = {"from": getattr(locked, key), "to": new}
                setattr(locked, key, new)
        if not diff:
            return locked, None
        locked.version += 1
        locked.save()
        event = append_event(
            incident,
            "referral.updated",
            actor=actor,
            data={"referral": _describe(locked), "changes": diff},
        )
    return locked, event


def apply_referral_transition(
    referral: Referral,
    name: str,
    *,
    actor: Any,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> tuple[Referral, Event]:
    check_moments(at=(payload or {}).get("at"))
    return run_record_transition(
        LIFECYCLE, referral, name, actor=actor, payload=payload, expected_version=expected_version
    )


def hand_over_evidence(
    referral: Referral, *, actor: Any, evidence_ids: list[int], note: str = ""
) -> tuple[list[Evidence], Event]:
    """Record that evidence items were handed to the referral's authority (custody entries)."""
    ensure_may_write_referrals(actor)
    with locked_record(Referral, referral) as (incident, locked):
        items = list(Evidence.objects.filter(incident=incident, pk__in=evidence_ids))
        unknown = sorted(set(evidence_ids) - {e.pk for e in items})
        if unknown:
            raise InvalidChange(
                {"evidence": [_("Not evidence of this incident: %(ids)s") % {"ids": unknown}]}
            )
        if locked.state not in Referral.OPEN:
            raise InvalidChange(
                {
                    "state": [
                        _("A %(state)s referral takes no more evidence.") % {"state": locked.state}
                    ]
                }
            )
        now = timezone.now()
        locked.evidence.add(*items)
        CustodyEntry.objects.bulk_create(
            CustodyEntry(
                evidence=item,
                actor=actor,
                actor_username=actor.username,
                role=primary_role(actor) or "",
                at=now,
                action=CustodyEntry.HANDED_OVER,
                note=note,
                referral=locked,
            )
            for item in items
        )
        event = append_event(
            incident,
            "evidence.handed_over",
            actor=actor,
            data={
                "referral": _describe(locked),
                "evidence": [e.pk for e in items],
                "sha256": [e.sha256 for e in items],
                "note": note,
            },
        )
    return items, event
