"""Pure predicates that gate transitions (STYLE.md rule 2).

Each guard maps to the fields a person must fill to satisfy it, so the API can answer
``{"missing": [...]}`` instead of a bare refusal. ``by_payload`` says the transition's own payload
may satisfy it (e.g. the restoration summary can be given with ``mark_restored``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Model as Incident

# Each guard takes an Incident; the model imports this module (its django-fsm conditions), so
# the annotations name the model's base class instead of importing the model back.


def _fact(incident: Incident, name: str, ask: Callable[[], bool]) -> bool:
    """A fact of another table: read for a whole page of a list (``load_facts``), else asked.
    The runner's locked incident carries none, so a transition always decides on fresh rows."""
    known = getattr(incident, name, None)
    return ask() if known is None else bool(known)


def load_facts(incidents: list[Incident]) -> None:
    """What the guards ask other tables, read for a page of incidents at once (one query per
    table, by the page's ids, whatever its size) and kept on each: offering a page's next
    steps then costs no query per row. Not as subqueries of the page's own query: PostgreSQL
    may hash such a subquery whole (every open task of the years) before the LIMIT applies."""
    from incidents.models import Obligation, Referral, Review, Task

    ids = [incident.pk for incident in incidents]
    facts = {
        "guard_open_required_tasks": Task.objects.required_open(),
        "guard_submitted_referral": Referral.objects.submitted(),
        "guard_open_obligations": Obligation.objects.open(),
        "guard_finished_review": Review.objects.filter(finished_at__isnull=False),
    }
    for name, rows in facts.items():
        found = rows.filter(incident_id__in=ids).order_by().values_list("incident_id", flat=True)
        having = set(found)
        for incident in incidents:
            setattr(incident, name, incident.pk in having)


def has_attack_vector(incident: Incident) -> bool:
    return bool(incident.attack_vector)


def has_affected_systems(incident: Incident) -> bool:
    return bool(incident.affected_systems)


def has_subjects_estimate(incident: Incident) -> bool:
    return incident.affected_subjects_estimate is not None


def has_restoration_summary(incident: Incident) -> bool:
    return bool((incident.restoration_summary or "").strip())


def has_no_referral_reason(incident: Incident) -> bool:
    return bool((incident.no_referral_reason or "").strip())


def has_submitted_referral(incident: Incident) -> bool:
    # The one guard that reads another table: a referral is its own record (legal issue), and
    # copying its state onto the incident would be a second source of truth.
    return _fact(
        incident, "guard_submitted_referral", lambda: incident.referrals.submitted().exists()
    )


def has_no_open_obligations(incident: Incident) -> bool:
    # A legal deadline is never silently dropped: each is fulfilled or waived before closing.
    return not _fact(
        incident, "guard_open_obligations", lambda: incident.obligations.open().exists()
    )


def has_finished_review(incident: Incident) -> bool:
    # Closing a high or critical breach needs its lessons written down (issue 20): a finished
    # post-incident review, for the severities settings.REVIEW_REQUIRED_SEVERITIES names. The
    # review is its own record (incidents/workspace/review.py), read like the referrals above.
    if incident.severity not in settings.REVIEW_REQUIRED_SEVERITIES:
        return True
    reviews = incident._meta.get_field("review").related_model.objects
    finished = reviews.filter(incident=incident, finished_at__isnull=False)
    return _fact(incident, "guard_finished_review", finished.exists)


def has_no_open_required_tasks(incident: Incident) -> bool:
    # A phase ends when its required runbook and own tasks are done (issue 20); tasks are
    # their own records (incidents/workspace/tasks.py), read like the referrals above.
    return not _fact(
        incident, "guard_open_required_tasks", lambda: incident.tasks.required_open().exists()
    )


@dataclass(frozen=True)
class Requirement:
    fields: tuple[str, ...]
    by_payload: bool = False


REQUIREMENTS: dict[Callable[[Incident], bool], Requirement] = {
    has_attack_vector: Requirement(("attack_vector",)),
    has_affected_systems: Requirement(("affected_systems",)),
    has_subjects_estimate: Requirement(("affected_subjects_estimate",)),
    has_restoration_summary: Requirement(("restoration_summary",), by_payload=True),
    has_no_referral_reason: Requirement(("reason",), by_payload=True),
    has_submitted_referral: Requirement(("authority", "submitted_at"), by_payload=True),
    has_no_open_obligations: Requirement(("obligations",)),
    has_no_open_required_tasks: Requirement(("tasks",)),
    has_finished_review: Requirement(("review",)),
}


def missing_fields(incident: Incident, conditions: list[Callable[[Incident], bool]]) -> list[str]:
    missing: list[str] = []
    for condition in conditions:
        if not condition(incident):
            missing.extend(REQUIREMENTS[condition].fields)
    return missing
