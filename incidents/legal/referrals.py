"""Referrals to authorities: creating, editing and moving them through their lifecycle.

Every change appends an event to the incident's timeline in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, LEGAL, has_any_role, primary_role
from incidents.changing import changing, record_of, save_changes, snapshot
from incidents.choices import Authority
from incidents.errors import InvalidChange, RequirementsMissing, RoleForbidden
from incidents.events import append_event
from incidents.machines import MOMENT, REMARK, Key, Machine, Step
from incidents.models import CustodyEntry, Event, Evidence, Incident, Referral
from incidents.moments import check_moments, check_not_before

EDITABLE = ("authority", "authority_name", "case_number", "contact", "notes")
# What ``refer`` may carry to file a referral with the transition (incidents/lifecycle.py).
REFERRAL_KEYS = ("authority", "authority_name", "submitted_at", "case_number", "contact", "notes")
# The moment a transition records, given as ``at`` in the payload or defaulting to now.
_MOMENT_ARG = {"submit": "submitted_at"}


def _call_args(referral: Referral, name: str, actor: Any, payload: dict[str, Any]) -> dict:
    args = {_MOMENT_ARG.get(name, "at"): payload.get("at") or timezone.now()}
    if name == "withdraw":
        args["reason"] = payload["reason"]
    return args


def _check_order(incident: Incident, referral: Referral, name: str, payload: dict) -> None:
    """A referral's moment (``at``) is plausible and comes after its breach's detection and
    after every moment the referral already recorded: no answer before the submission."""
    check_moments(at=payload.get("at"))
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


# A referral's own small lifecycle; sources, targets and roles are on the model
# (incidents/models/legal.py).
REFERRAL = Machine(
    model=Referral,
    kind="referral",
    steps=(
        Step("submit", ("at", "note")),
        Step("acknowledge", ("at", "case_number", "note")),
        Step("start_investigation", ("at", "note")),
        Step("conclude", ("at", "outcome", "note"), requires=("outcome",)),
        Step("withdraw", ("reason", "note"), requires=("reason",)),
    ),
    keys=(
        REMARK,
        Key("at", MOMENT),
        Key.text_of(Referral, "case_number"),
        Key.text_of(Referral, "outcome"),
        Key.text_of(Referral, "withdrawn_reason", "reason"),
    ),
    stages={"case_number": "case_number", "outcome": "outcome"},
    check=_check_order,
    call_args=_call_args,
    describe=_describe,
)


def check_authority_named(data: dict[str, Any], record: Any = None) -> None:
    """An authority of kind "other" has a name (in ``data``, or already on ``record``)."""
    authority = data.get("authority", getattr(record, "authority", None))
    name = data.get("authority_name", getattr(record, "authority_name", ""))
    if authority == Authority.OTHER and not name:
        raise InvalidChange({"authority_name": [_("Name the authority when it is 'other'.")]})


def file_submitted_referral(incident: Incident, payload: dict[str, Any], actor: Any) -> Referral:
    """The submitted referral ``refer`` files when given one (the REFERRAL_KEYS of its payload).
    Call inside ``changing(incident)``."""
    check_authority_named(payload)
    if "submitted_at" not in payload:
        raise RequirementsMissing(["submitted_at"])
    check_moments(submitted_at=payload["submitted_at"])
    check_not_before("submitted_at", payload["submitted_at"], {"detected_at": incident.detected_at})
    referral = Referral(
        incident=incident,
        created_by=actor,
        **{k: payload[k] for k in REFERRAL_KEYS if k in payload and k != "submitted_at"},
    )
    referral.submit(submitted_at=payload["submitted_at"])
    referral.save()
    return referral


apply_referral_transition = REFERRAL.run


def may_write_referrals(user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_write_referrals(actor: Any) -> None:
    """RoleForbidden unless the actor may record referrals (callers may check before parsing)."""
    if not may_write_referrals(actor):
        raise RoleForbidden(_("Only legal and admins record referrals."))


def create_referral(
    incident: Incident, *, actor: Any, data: dict[str, Any]
) -> tuple[Referral, Event]:
    """A new draft referral (``data`` already type-checked: the EDITABLE keys)."""
    ensure_may_write_referrals(actor)
    check_authority_named(data)
    with changing(incident) as locked:
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
    with changing(referral.incident_id) as incident:
        locked = record_of(incident, Referral, referral.pk, expected_version)
        if locked.state not in Referral.OPEN:
            raise InvalidChange(
                {"state": [_("A %(state)s referral cannot be edited.") % {"state": locked.state}]}
            )
        before, diff = snapshot(locked), {}
        for key, new in changes.items():
            if key not in EDITABLE:
                raise InvalidChange({key: [_("Not editable.")]})
            if getattr(locked, key) != new:
                diff[key] = {"from": getattr(locked, key), "to": new}
                setattr(locked, key, new)
        if not diff:
            return locked, None
        check_authority_named(changes, locked)
        save_changes(locked, before)
        event = append_event(
            incident,
            "referral.updated",
            actor=actor,
            data={"referral": _describe(locked), "changes": diff},
        )
    return locked, event


def hand_over_evidence(
    referral: Referral, *, actor: Any, evidence_ids: list[int], note: str = ""
) -> tuple[list[Evidence], Event]:
    """Record that evidence items were handed to the referral's authority (custody entries)."""
    ensure_may_write_referrals(actor)
    with changing(referral.incident_id) as incident:
        locked = record_of(incident, Referral, referral.pk)
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
