"""Legal deadlines: which jurisdiction rules an incident's scope triggers, the obligations they
create (due an offset after ``aware_at``), their small lifecycle, and which reminders are due.

``sync_obligations`` is called by lifecycle.create_incident / update_incident inside their
transaction, after the incident row is locked, so obligations always follow the scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from incidents.changing import changing
from incidents.errors import InvalidChange
from incidents.events import append_event
from incidents.machines import EVIDENCE, Key, Machine, Step
from incidents.models import (
    Event,
    Evidence,
    Incident,
    JurisdictionRule,
    Obligation,
    ObligationReminder,
)

# Stage name -> how long before the due time the reminder goes out ("overdue" at due time).
REMINDER_STAGES: tuple[tuple[str, dt.timedelta], ...] = (
    ("24h", dt.timedelta(hours=24)),
    ("4h", dt.timedelta(hours=4)),
    ("1h", dt.timedelta(hours=1)),
    ("overdue", dt.timedelta(0)),
)

# The rules seeded by `manage.py seed_jurisdiction_rules` (migration-free so admins' edits stay).
# Step names and recipients are stored in English and shown translated where the catalogue has
# them (a name an admin writes is shown as written).
SEED_RULES: list[dict[str, Any]] = [
    {
        "code": "GDPR-33",
        "title": "GDPR art. 33: notify the supervisory authority",
        "description": "Personal data breach: notify the supervisory authority within 72 hours "
        "of becoming aware.",
        "steps": [
            {
                "key": "notify_authority",
                "name": gettext_noop("Notify supervisory authority"),
                "recipient": gettext_noop("Supervisory authority"),
                "offset_hours": 72,
            }
        ],
    },
    {
        "code": "GDPR-34",
        "title": "GDPR art. 34: communicate to data subjects",
        "description": "High risk to people's rights: tell the data subjects without undue delay "
        "(tracked here as 72 hours).",
        "requires_high_risk": True,
        "steps": [
            {
                "key": "notify_subjects",
                "name": gettext_noop("Communicate to data subjects"),
                "recipient": gettext_noop("Data subjects"),
                "offset_hours": 72,
            }
        ],
    },
    {
        "code": "NIS2",
        "title": "NIS2 art. 23: significant incident reporting",
        "description": "Essential and important entities: early warning 24 h, notification 72 h, "
        "final report one month.",
        "enabled": False,
        "requires_personal_data": False,
        "steps": [
            {
                "key": "early_warning",
                "name": gettext_noop("Early warning"),
                "recipient": gettext_noop("CSIRT"),
                "offset_hours": 24,
            },
            {
                "key": "notification",
                "name": gettext_noop("Incident notification"),
                "recipient": gettext_noop("CSIRT"),
                "offset_hours": 72,
            },
            {
                "key": "final_report",
                "name": gettext_noop("Final report"),
                "recipient": gettext_noop("CSIRT"),
                "offset_hours": 24 * 30,
            },
        ],
    },
    {
        "code": "KALAK",
        "title": "Company policy: referral to the authorities",
        "description": "Company policy, not statute (no Iranian law fixes these times): legal "
        "decides on a referral within 24 h and files it within 72 h of awareness.",
        "is_policy": True,
        "steps": [
            {
                "key": "referral_decision",
                "name": gettext_noop("Legal decision on referral"),
                "recipient": gettext_noop("Legal"),
                "offset_hours": 24,
            },
            {
                "key": "referral_filed",
                "name": gettext_noop("Referral filed"),
                "recipient": gettext_noop("Cyber police / prosecutor"),
                "offset_hours": 72,
            },
        ],
    },
]


def seed_rules() -> list[str]:
    """Create the seed rules that do not exist yet; never overwrite an admin's edits."""
    created = []
    for spec in SEED_RULES:
        spec = dict(spec)
        rule, was_created = JurisdictionRule.objects.get_or_create(
            code=spec.pop("code"), defaults=spec
        )
        if was_created:
            created.append(rule.code)
    return created


def rule_applies(rule: JurisdictionRule, incident: Incident) -> bool:
    categories = set(incident.data_categories or [])
    if rule.requires_personal_data and not categories:
        return False
    if rule.data_categories and not categories & set(rule.data_categories):
        return False
    subjects = incident.affected_subjects_estimate or 0
    if rule.min_subjects is not None and subjects < rule.min_subjects:
        return False
    return not (rule.requires_high_risk and not incident.high_risk)


def due_at(incident: Incident, offset_hours: float) -> dt.datetime:
    return incident.aware_at + dt.timedelta(hours=offset_hours)


def sync_obligations(incident: Incident) -> dict[str, list[dict[str, Any]]]:
    """Create obligations for newly applying rules and move open ones with ``aware_at``.

    Call inside atomic() with the incident locked. Returns what changed, for the caller's event.
    Obligations of rules that stop applying stay open: someone must waive them with a reason.
    """
    existing = {(o.rule_id, o.step_key): o for o in incident.obligations.all()}
    created, moved = [], []
    for rule in JurisdictionRule.objects.filter(enabled=True):
        if not rule_applies(rule, incident):
            continue
        for step in rule.steps:
            if (rule.pk, step["key"]) in existing:
                continue
            obligation = Obligation.objects.create(
                incident=incident,
                rule=rule,
                step_key=step["key"],
                step_name=step["name"],
                recipient=step["recipient"],
                offset_hours=step["offset_hours"],
                due_at=due_at(incident, step["offset_hours"]),
            )
            created.append(
                {
                    "id": obligation.pk,
                    "rule": rule.code,
                    "step": step["key"],
                    "due_at": obligation.due_at,
                }
            )
    for obligation in existing.values():
        new_due = due_at(incident, obligation.offset_hours)
        if obligation.state == Obligation.OPEN and obligation.due_at != new_due:
            moved.append(
                {
                    "id": obligation.pk,
                    "step": obligation.step_key,
                    "from": obligation.due_at,
                    "to": new_due,
                }
            )
            obligation.due_at = new_due
            obligation.version += 1
            obligation.save(update_fields=["due_at", "version"])
            # A moved deadline gets its reminders afresh.
            obligation.reminders.all().delete()
    return {k: v for k, v in (("created", created), ("moved", moved)) if v}


def resync_open_incidents(*, actor: Any) -> int:
    """After an admin enables or edits a rule: bring every open incident's obligations up to
    date, one transaction and one ``obligations.synced`` event per incident that changed.
    Returns how many incidents changed."""
    changed = 0
    for pk in Incident.objects.open().values_list("pk", flat=True):
        with changing(pk) as locked:
            result = sync_obligations(locked)
            if result:
                data = {"obligations": result}
                append_event(locked, "obligations.synced", actor=actor, data=data)
                changed += 1
    return changed


def _call_args(obligation: Obligation, name: str, actor: Any, payload: dict[str, Any]) -> dict:
    return {"by": actor, "at": timezone.now()}


def _describe(obligation: Obligation) -> dict[str, Any]:
    return {
        "id": obligation.pk,
        "rule": obligation.rule.code,
        "step": obligation.step_key,
        "due_at": obligation.due_at,
        "document": obligation.document_id,
    }


def _check_document(incident: Incident, obligation: Obligation, name: str, payload: dict) -> None:
    document = payload.get("document")
    if isinstance(document, Evidence) and document.incident_id != incident.pk:
        raise InvalidChange({"document": [_("Must be evidence of the same incident.")]})


# A legal deadline's small lifecycle; sources, targets and roles are on the model
# (incidents/models/legal.py).
OBLIGATION = Machine(
    model=Obligation,
    kind="obligation",
    steps=(
        Step("fulfil", ("note", "document"), requires=("note",)),
        Step("waive", ("note",), requires=("note",)),
    ),
    keys=(Key.text_of(Obligation, "note"), Key("document", EVIDENCE)),
    stages={"note": "note", "document": "document"},
    check=_check_document,
    call_args=_call_args,
    describe=_describe,
)
# fulfil (note, optional ``document``: evidence of the same incident) or waive (note).
apply_obligation_transition = OBLIGATION.run

# The step of a rule that has the data subjects themselves told (GDPR-34's; a company rule may
# have one too): a finished notice campaign fulfils it (incidents/affected/sending.py), legal's
# decision that no notice is required waives it.
SUBJECT_NOTICE_STEP = "notify_subjects"


def open_subject_notices(incident: Incident) -> list[Obligation]:
    return list(
        incident.obligations.open().filter(step_key=SUBJECT_NOTICE_STEP).select_related("rule")
    )


def fulfil_subject_notice(incident: Incident, *, actor: Any, note: str) -> list[Event]:
    """Fulfil the incident's open subject-notice obligations, ``note`` citing the proof (the
    campaign, its counts). Call inside ``changing(incident)``, in the transaction that finishes
    the campaign, so both are recorded or neither."""
    return [
        OBLIGATION.run(obligation, "fulfil", actor=actor, payload={"note": note})[1]
        for obligation in open_subject_notices(incident)
    ]


def waive_subject_notice(incident: Incident, *, actor: Any, reason: str) -> list[Event]:
    """Legal recorded that telling the people affected is not required: waive the incident's
    open subject-notice obligations with that reason (legal and admins only, as any waiver).
    Inside the caller's ``changing(incident)`` when there is one (it nests: same transaction,
    same lock), else in a transaction of its own. Returns the events (none if nothing open)."""
    OBLIGATION.ensure_may_run(actor, "waive")
    with changing(incident) as locked:
        return [
            OBLIGATION.run(obligation, "waive", actor=actor, payload={"note": reason})[1]
            for obligation in open_subject_notices(locked)
        ]


def stage_times(due: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """When each reminder stage comes. A stage that would fall before the calendar's first day
    (a due date within a day of year 1, which only rows written before moments were checked can
    hold) has long passed: it counts as that first day instead of overflowing."""
    first_day = dt.datetime.min.replace(tzinfo=dt.UTC)
    return [
        (stage, due - before if due - first_day > before else first_day)
        for stage, before in REMINDER_STAGES
    ]


def reminders_due(now: dt.datetime) -> list[tuple[Obligation, str]]:
    """(obligation, stage) pairs to remind now: for each open obligation, the latest stage
    whose time has come, unless that stage or a later one was already reminded. An
    obligation created 3 h before its due time gets the 1 h and overdue reminders only."""
    pairs = []
    order = [stage for stage, _offset in REMINDER_STAGES]
    horizon = now + max(offset for _stage, offset in REMINDER_STAGES)
    candidates = Obligation.objects.open().filter(due_at__lte=horizon)
    for obligation in candidates.select_related("incident", "rule").prefetch_related("reminders"):
        passed = [stage for stage, at in stage_times(obligation.due_at) if at <= now]
        if not passed:
            continue
        done = {r.stage for r in obligation.reminders.all()}
        latest = passed[-1]
        if not any(order.index(stage) >= order.index(latest) for stage in done):
            pairs.append((obligation, latest))
    return pairs


def mark_reminded(obligation: Obligation, stage: str) -> bool:
    """Record that ``stage`` was handed to the notifier (and earlier stages skipped).

    Call inside the same transaction that writes the notifier's outbox rows. Returns False when
    another worker recorded it first (the caller then writes nothing)."""
    order = [s for s, _offset in REMINDER_STAGES]
    with transaction.atomic():
        if ObligationReminder.objects.filter(obligation=obligation, stage=stage).exists():
            return False
        earlier = order[: order.index(stage)]
        ObligationReminder.objects.bulk_create(
            [ObligationReminder(obligation=obligation, stage=s, skipped=True) for s in earlier],
            ignore_conflicts=True,
        )
        _reminder, created = ObligationReminder.objects.get_or_create(
            obligation=obligation, stage=stage
        )
    return created


def reminder_facts(obligation: Obligation, stage: str) -> dict[str, Any]:
    """What a reminder message may say: the incident's reference, severity and state, the
    rule and step, the recipient and the due time. Never personal data of customers."""
    incident = obligation.incident
    return {
        "obligation": obligation.pk,
        "stage": stage,
        "reference": incident.reference,
        "severity": incident.severity,
        "state": incident.state,
        "rule": obligation.rule.code,
        "company_policy": obligation.rule.is_policy,
        "step": obligation.step_name,
        "recipient": obligation.recipient,
        "due_at": obligation.due_at,
    }
