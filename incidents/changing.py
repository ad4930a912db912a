"""The one way to change an incident (STYLE.md rule 17), in the spirit of Zulip's
``access_message(..., lock_message=True)``::

    with changing(reference, expected_version=v) as incident:   # locks, checks the version
        ...domain change...
        append_event(incident, "note", actor=user, data=...)   # precondition: locked

Every writer goes through here: the lifecycle runner (incidents/machines.py), edits, notes,
acknowledgements, referrals, obligations, evidence. So every change takes its locks in one fixed
order: the incident row, then (in ``append_event``) the log head. An incident's own records
(referrals, obligations, evidence) are read after the incident is locked and never locked
themselves: whoever changes one holds its incident, so two writers can never meet in opposite
orders and deadlock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Model

from incidents.errors import IncidentNotFound, StaleVersion
from incidents.models import Incident


@contextmanager
def changing(
    target: Incident | str | int, *, expected_version: int | None = None
) -> Iterator[Incident]:
    """Open a transaction, lock the incident and hand back the locked row (with its reporter
    and commander loaded). ``target`` is the incident, its reference or its id; the API passes
    the reference, so the row is read once, inside the lock.

    IncidentNotFound when there is no such incident; StaleVersion when ``expected_version`` is
    given and the row has moved on."""
    if isinstance(target, Incident):
        lookup: dict[str, Any] = {"pk": target.pk}
    elif isinstance(target, str):
        lookup = {"reference": target}
    else:
        lookup = {"pk": target}
    with transaction.atomic():
        # of=("self",): lock the incident, not the people joined to it (and PostgreSQL refuses
        # FOR UPDATE on the nullable side of the commander's outer join).
        rows = Incident.objects.select_for_update(of=("self",)).with_people()
        locked = rows.filter(**lookup).first()
        if locked is None:
            raise IncidentNotFound()
        check_version(locked, expected_version)
        yield locked


def record_of(
    incident: Incident, model: type[Model], pk: int, expected_version: int | None = None
) -> Any:
    """One of the locked incident's records (a referral, an obligation) as stored, read under
    the incident's lock, which is what protects it; StaleVersion if it moved on."""
    record = model.objects.get(pk=pk, incident=incident)
    check_version(record, expected_version)
    return record


def check_version(row: Any, expected_version: int | None) -> None:
    """StaleVersion unless ``expected_version`` (an ``If-Match``) is None or the row's own."""
    if expected_version is not None and expected_version != row.version:
        raise StaleVersion(current=row.version)


def snapshot(row: Model) -> dict[str, Any]:
    """The row's column values, to save later only what a change touched."""
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def save_changes(row: Model, before: dict[str, Any]) -> None:
    """Bump the row's version and save the columns that differ from ``before`` (a
    ``snapshot``), with ``auto_now`` fields like ``updated_at`` kept current."""
    row.version += 1
    changed = {name for name, old in before.items() if getattr(row, name) != old}
    changed |= {f.attname for f in row._meta.concrete_fields if getattr(f, "auto_now", False)}
    row.save(update_fields=sorted(changed))
