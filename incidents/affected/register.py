"""The affected-people register (issue 18 part 2): who keeps it, adding and removing one person,
opening people's sealed details for a reader, and the purge once the retention period is over.
The CSV import is incidents/affected/importing.py; how a person's details are checked and
normalised, incidents/affected/contacts.py.

Legal and admins keep and read the register; every other role is refused (403), and a
restricted incident is, as everywhere, a 404 to whoever may not see it (the API starts from
``Incident.objects.visible_to``). Writes go through ``changing`` like every change of an
incident and each is an event that carries counts only: personal data never reaches the event
log, which the live stream, the notifier, the timeline and the dossier's JSON all read. The
register's event kinds alert nobody on Telegram (notifier/recipients.py routes only the
lifecycle's kinds). Reads are logged by the API (``record_access``), not here: a read is what a
person was shown.

The register belongs to a case in progress: once an incident is closed or dismissed nobody adds
or removes people (409; reopen it first), and ``AFFECTED_PEOPLE_RETENTION_DAYS`` after that the
purge deletes the contact data and keeps the rows, so the counts remain.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, ProtectedError, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from core import pii
from core.errors import DomainError
from core.roles import LEGAL_TEAM, has_any_role
from incidents.affected.contacts import (
    Person,
    PersonInvalid,
    clean_person,
    customer_hash,
    email_hash,
    mobile_hash,
)
from incidents.changing import changing
from incidents.choices import TERMINAL_STATES, State
from incidents.errors import EditNotAllowed, InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import AffectedPerson, Incident, Notice

logger = logging.getLogger(__name__)

ADDED = "register.added"
IMPORTED = "register.imported"
REMOVED = "register.removed"
PURGED = "register.purged"
KINDS = (ADDED, IMPORTED, REMOVED, PURGED)


class PersonAlreadyListed(DomainError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            _("A person with this customer id is already in this incident's register.")
        )


class PersonNotListed(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__(_("No such person in this incident's register."))


class PersonNotified(DomainError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            _("This person already has a notice; the register keeps them as proof of who was told.")
        )


class RegisterUnreadable(DomainError):
    """A sealed row no configured key opens: a wrong or missing PII_ENCRYPTION_KEY (or a
    fallback left out after a rotation). A server-side fault the client cannot fix, but a clear
    one, and the same every time: 503, never a 500 with a traceback."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            _(
                "The register cannot be opened with the configured encryption key "
                "(PII_ENCRYPTION_KEY, PII_ENCRYPTION_KEY_FALLBACKS); ask an admin to check it."
            )
        )


def counts(incident: Incident) -> dict[str, int]:
    """How many people the incident's register holds (``people``: contact data still held),
    how many of those have an email and a mobile, how many were ``notified`` (a notice of any
    campaign reached them; purged people included: the counts outlive the data) and how many
    were ``purged``. One query however large the register: pages and the dossier show these
    numbers, never the people."""
    held = Q(purged_at__isnull=True)
    told = Exists(Notice.objects.filter(person=OuterRef("pk"), status=Notice.SENT))
    return (
        AffectedPerson.objects.filter(incident=incident)
        .order_by()
        .aggregate(
            people=Count("pk", filter=held),
            with_email=Count("pk", filter=held & Q(has_email=True)),
            with_mobile=Count("pk", filter=held & Q(has_mobile=True)),
            notified=Count("pk", filter=Q(told)),
            purged=Count("pk", filter=~held),
        )
    )


def may_keep_register(user: Any) -> bool:
    return has_any_role(user, LEGAL_TEAM.names)


def ensure_may_keep_register(user: Any) -> None:
    if not may_keep_register(user):
        raise RoleForbidden(_("Only legal and admins keep and read the affected-people register."))


def ensure_open(incident: Incident) -> None:
    """EditNotAllowed (409) for a closed or dismissed incident: its retention clock runs."""
    if incident.state in TERMINAL_STATES:
        raise EditNotAllowed(incident.state)


def sealed_values(person: Person, key: str) -> dict[str, Any]:
    """What a row stores of ``person`` (whose ``customer_hash`` is ``key``): their details
    sealed once, the look-up hashes, and what may be known without the key."""
    return {
        "customer_hash": key,
        "email_hash": email_hash(person.email),
        "mobile_hash": mobile_hash(person.mobile),
        "has_email": bool(person.email),
        "has_mobile": bool(person.mobile),
        "language": person.language,
        "sealed": pii.seal(person.sealed_fields()),
    }


def new_row(incident: Incident, person: Person, key: str, actor: Any) -> AffectedPerson:
    """An unsaved row for ``person`` (whose ``customer_hash`` is ``key``)."""
    return AffectedPerson(incident=incident, added_by=actor, **sealed_values(person, key))


def listed(incident: Incident, keys: Iterable[str] | None = None) -> set[str]:
    """Which of these customer hashes (all, when ``keys`` is None) the incident's register
    holds. One query, answered from the partial unique index, hence its condition; unordered,
    or the model's ordering would make it walk the table."""
    rows = AffectedPerson.objects.filter(incident=incident).exclude(customer_hash="")
    if keys is not None:
        rows = rows.filter(customer_hash__in=list(keys))
    return set(rows.order_by().values_list("customer_hash", flat=True))


def add_person(
    incident: Incident, values: Mapping[str, str | None], *, actor: Any
) -> AffectedPerson:
    """Add one person (``values`` keyed by contacts.FIELDS) to the register of an incident the
    actor sees; the saved row with its details opened (``contact``). RoleForbidden,
    InvalidChange naming each wrong field, EditNotAllowed, PersonAlreadyListed."""
    ensure_may_keep_register(actor)
    try:
        person = clean_person(values)
    except PersonInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for field, message in invalid.errors:
            errors.setdefault(field, []).append(message)
        raise InvalidChange(errors) from None
    key = customer_hash(person.customer_id)
    with changing(incident) as locked:
        ensure_open(locked)
        if listed(locked, [key]):
            raise PersonAlreadyListed()
        row = new_row(locked, person, key, actor)
        row.save(force_insert=True)
        append_event(locked, ADDED, actor=actor, data={"added": 1})
    row.contact = _contact(person.sealed_fields())
    return row


def remove_person(incident: Incident, pk: int, *, actor: Any) -> None:
    """Take a person added by mistake out of the register (the row and its sealed details are
    deleted). A person who has a notice stays: PersonNotified."""
    ensure_may_keep_register(actor)
    with changing(incident) as locked:
        ensure_open(locked)
        row = AffectedPerson.objects.present().filter(incident=locked, pk=pk).first()
        if row is None:
            raise PersonNotListed()
        try:
            # Django's collector finds the person's notices (on_delete=PROTECT) before any
            # DELETE is sent, so a refusal leaves the transaction clean.
            row.delete()
        except ProtectedError:
            raise PersonNotified() from None
        append_event(locked, REMOVED, actor=actor, data={"removed": 1})


def people_of(incident: Incident) -> QuerySet[AffectedPerson]:
    """The people whose details the register still holds, in the order they were added, each
    with ``notified_at``: when a notice first reached them (None before), in the same query."""
    first_sent = (
        Notice.objects.filter(person=OuterRef("pk"), status=Notice.SENT)
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    return (
        AffectedPerson.objects.present()
        .filter(incident=incident)
        .select_related("added_by")
        .annotate(notified_at=Subquery(first_sent))
        .order_by("id")
    )


def open_people(people: Iterable[AffectedPerson]) -> list[AffectedPerson]:
    """The rows, each with its sealed details opened as ``contact`` ({customer_id, name, email,
    mobile}; absent email or mobile: None). RegisterUnreadable when a key does not open one."""
    opened = list(people)
    for person in opened:
        try:
            person.contact = _contact(pii.unseal(person.sealed))
        except pii.Unreadable:
            # Ids only: the row's content is exactly what cannot be read.
            logger.error(
                "affected person %s of incident %s: no PII_ENCRYPTION_KEY opens it",
                person.pk,
                person.incident_id,
            )
            raise RegisterUnreadable() from None
    return opened


def _contact(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": fields.get("customer_id", ""),
        "name": fields.get("name", ""),
        "email": fields.get("email") or None,
        "mobile": fields.get("mobile") or None,
    }


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Incidents closed or dismissed at or before this moment are past retention."""
    days = settings.AFFECTED_PEOPLE_RETENTION_DAYS
    return (now or timezone.now()) - dt.timedelta(days=days)


def _ended_before(cutoff: dt.datetime) -> Q:
    return Q(state=State.CLOSED, closed_at__lte=cutoff) | Q(
        state=State.DISMISSED, dismissed_at__lte=cutoff
    )


def due_for_purge(now: dt.datetime | None = None) -> QuerySet[Incident]:
    """Incidents past retention whose register still holds someone's details."""
    holding = AffectedPerson.objects.present().values("incident")
    return Incident.objects.filter(_ended_before(retention_cutoff(now)), pk__in=holding)


def purge_register(incident: Incident, *, now: dt.datetime | None = None) -> int:
    """Delete the contact data and look-up hashes of everyone in the incident's register if it
    is (still, under the lock: it may have been reopened) past retention; the rows stay for the
    counts, marked ``purged_at``. One event with the number purged; none when there was
    nothing to purge. Returns that number."""
    now = now or timezone.now()
    with changing(incident) as locked:
        if not Incident.objects.filter(_ended_before(retention_cutoff(now)), pk=locked.pk).exists():
            return 0
        if connection.vendor == "sqlite":
            # Zero the freed space, so the old tokens do not linger in the file's free pages
            # (PostgreSQL frees dead row versions at VACUUM: docs in the purge command).
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = ON")
        purged = (
            AffectedPerson.objects.present()
            .filter(incident=locked)
            .update(sealed="", customer_hash="", email_hash="", mobile_hash="", purged_at=now)
        )
        if purged:
            append_event(locked, PURGED, actor=None, data={"purged": purged})
    logger.info("register of %s purged: %d people", incident.reference, purged)
    return purged
