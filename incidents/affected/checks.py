"""The public "Am I affected?" check (issue 18, "On the site"): a visitor of an incident's notice
page gives an email or a mobile; a one-time code goes to that address; only the code opens the
answer, whether the register holds the address, and for someone it holds, which of their data
was involved and what to do.

Nobody learns from the check whether somebody else's address is in the register:
- ``request_code`` never reads the register. Whatever the address, it does the same work (one
  check row, one sealed code message for the worker to send) and answers the same (a handle of
  32 random hex characters). The code goes to every valid address, in the register or not: the
  answer waits behind the code, so only whoever reads that inbox or phone learns it.
- ``verify`` looks the address up only after the right code was entered.
- Limits: PUBLIC_CHECK_PER_ADDRESS_PER_HOUR codes for one address (an inbox or a phone is not
  flooded with codes it did not ask for) and PUBLIC_CHECK_PER_CLIENT_PER_HOUR from one client
  address (core/limits.py, in the shared cache); PUBLIC_CHECK_MAX_TRIES codes entered per check
  (a 6-digit code: five tries guess it one time in 200,000), each try taken before the code is
  compared; a code good for PUBLIC_CHECK_CODE_MINUTES.

What a check keeps of a person, and for how long, is in incidents/models/checks.py; ``sweep``
wipes and deletes what has expired (the notifier worker runs it on its scans).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import pii
from core.errors import DomainError
from core.limits import Busy, Quota, cache_key, take
from incidents.affected.contacts import clean_email, clean_mobile, email_hash, mobile_hash
from incidents.models import (
    AccessKind,
    AccessRecord,
    AffectedCheck,
    AffectedPerson,
    Incident,
    Notice,
    NoticeChannel,
)
from incidents.models.checks import KEEP

CODE_DIGITS = 6
HANDLE = re.compile(r"[0-9a-f]{32}")
HOUR = 3600
ADDRESS_MAX = 254


class AddressInvalid(DomainError):
    """Neither an email address nor an Iranian mobile: the form says so (nothing is sent)."""


class TooManyChecks(DomainError):
    """A limit of the check is spent for now: ``wait`` seconds until it has room again."""

    status = 429

    def __init__(self, wait: int) -> None:
        minutes = max(1, math.ceil(wait / 60))
        message = ngettext(
            "Too many codes were asked for. Try again in %(minutes)s minute.",
            "Too many codes were asked for. Try again in %(minutes)s minutes.",
            minutes,
        )
        super().__init__(message % {"minutes": minutes}, retry_after=wait)
        self.wait = wait


class WrongCode(DomainError):
    """The code entered is not the one sent; ``tries_left`` more may be entered."""

    def __init__(self, tries_left: int) -> None:
        message = ngettext(
            "That is not the code we sent. You may try once more.",
            "That is not the code we sent. You may try %(n)s more times.",
            tries_left,
        )
        super().__init__(message % {"n": tries_left}, tries_left=tries_left)
        self.tries_left = tries_left


class CheckSpent(DomainError):
    """No code can open this check any more: expired, used, too many wrong codes, or unknown."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            _(
                "This code can no longer be used: it expired, was used, or too many wrong codes "
                "were entered. Ask for a new one."
            )
        )


@dataclass(frozen=True)
class Answer:
    """What a check found out, given only after the right code: the incident, and whether the
    register holds the address."""

    incident: Incident
    affected: bool


def parse_address(raw: str) -> tuple[str, str]:
    """(channel, normalised address) of what a visitor typed: an email when it holds "@", else
    an Iranian mobile. AddressInvalid otherwise."""
    raw = raw.strip()[: ADDRESS_MAX + 1]
    try:
        if "@" in raw:
            return NoticeChannel.EMAIL, clean_email(raw)
        mobile = clean_mobile(raw)
    except ValidationError as exc:
        raise AddressInvalid(exc.messages[0]) from None
    if not mobile:
        raise AddressInvalid(_("Enter your email address or your mobile number."))
    return NoticeChannel.SMS, mobile


def address_hash(channel: str, address: str) -> str:
    """The register's own look-up hash of a normalised address."""
    return email_hash(address) if channel == NoticeChannel.EMAIL else mobile_hash(address)


def request_code(incident: Incident, raw_address: str, language: str, client: str) -> AffectedCheck:
    """Start a check of ``raw_address`` on ``incident``'s notice page: a new pending check whose
    code message the worker sends, the same whether or not the register holds the address
    (module docstring). AddressInvalid, or TooManyChecks when a limit is spent (nothing sent,
    nothing counted)."""
    channel, address = parse_address(raw_address)
    hashed = address_hash(channel, address)
    _take_quota(hashed, client)
    now = timezone.now()
    handle = secrets.token_hex(16)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    return AffectedCheck.objects.create(
        incident=incident,
        handle=handle,
        channel=channel,
        language=language,
        address_hash=hashed,
        sealed=pii.seal({"to": address, "code": code}),
        code_hash=code_mac(handle, code),
        created_at=now,
        expires_at=now + dt.timedelta(minutes=settings.PUBLIC_CHECK_CODE_MINUTES),
        next_attempt_at=now,
    )


def _take_quota(hashed: str, client: str) -> None:
    # The address's quota first, always in this order (core/limits.take locks them in turn).
    quotas = [
        Quota(cache_key("check:address", hashed), settings.PUBLIC_CHECK_PER_ADDRESS_PER_HOUR, HOUR),
        Quota(cache_key("check:client", client), settings.PUBLIC_CHECK_PER_CLIENT_PER_HOUR, HOUR),
    ]
    try:
        wait = take(quotas)
    except Busy:
        wait = 1.0  # refused, never let through, when the counters cannot be had
    if wait > 0:
        raise TooManyChecks(math.ceil(wait))


def code_mac(handle: str, code: str) -> str:
    """A keyed MAC of a check's code, bound to its handle (the code is never stored in clear)."""
    return pii.lookup_hash("check-code", f"{handle}\x00{code}")


def typed_code(raw: str) -> str:
    """The digits of a code as typed (Persian or Arabic-Indic digits read as ASCII, spaces and
    dashes dropped)."""
    digits = []
    for char in unicodedata.normalize("NFKC", raw)[:40]:
        if char.isdecimal():
            digits.append(str(unicodedata.decimal(char)))
    return "".join(digits)


def verify(
    incident: Incident, handle: str, raw_code: str, now: dt.datetime | None = None
) -> Answer:
    """The answer of ``incident``'s check ``handle`` when ``raw_code`` is its code. Each call
    takes one of the check's tries before it compares (so parallel guesses cannot share one);
    WrongCode while tries are left, CheckSpent once none are, or when the check expired, was
    answered or does not exist (on this incident's page). The right code answers once and
    wipes the check of anything personal."""
    now = now or timezone.now()
    check = _open_check(incident, handle, now)
    most = settings.PUBLIC_CHECK_MAX_TRIES
    took = AffectedCheck.objects.filter(
        pk=check.pk, tries__lt=most, verified_at__isnull=True, expires_at__gt=now
    ).update(tries=F("tries") + 1)
    if not took:
        raise CheckSpent
    if not constant_time_compare(code_mac(handle, typed_code(raw_code)), check.code_hash):
        tries_left = most - AffectedCheck.objects.get(pk=check.pk).tries
        if tries_left <= 0:
            _wipe(AffectedCheck.objects.filter(pk=check.pk))
            raise CheckSpent
        raise WrongCode(tries_left)
    with transaction.atomic():
        answered = AffectedCheck.objects.filter(pk=check.pk, verified_at__isnull=True).update(
            verified_at=now, address_hash="", code_hash="", sealed=""
        )
        if not answered:  # the same right code sent twice at once: one answer
            raise CheckSpent
        person = _person(check)
        if person is not None:
            AccessRecord.objects.create(
                incident=check.incident,
                kind=AccessKind.REGISTER_CHECKED,
                target=f"person:{person.pk}",
                user=None,
                username="",
                at=now,
            )
    return Answer(incident=check.incident, affected=person is not None)


def _open_check(incident: Incident, handle: str, now: dt.datetime) -> AffectedCheck:
    check = None
    if HANDLE.fullmatch(handle):
        found = AffectedCheck.objects.filter(handle=handle, incident=incident)
        check = found.select_related("incident").first()
    if check is None or check.verified_at or check.expires_at <= now or not check.code_hash:
        raise CheckSpent
    return check


def _person(check: AffectedCheck) -> AffectedPerson | None:
    """The register's entry of the check's address (contact data still held), if any."""
    field = "email_hash" if check.channel == NoticeChannel.EMAIL else "mobile_hash"
    people = AffectedPerson.objects.present().filter(incident_id=check.incident_id)
    return people.filter(**{field: check.address_hash}).order_by("id").first()


def _wipe(checks: QuerySet[AffectedCheck]) -> int:
    return checks.update(sealed="", address_hash="", code_hash="")


def sweep(now: dt.datetime | None = None) -> tuple[int, int]:
    """Wipe expired checks of the address, its hash and the code's (a code message not sent by
    then is dead: its code could open nothing), and delete the rows KEEP after they expired.
    Returns (wiped, deleted)."""
    now = now or timezone.now()
    expired = AffectedCheck.objects.expired_unwiped(now)
    expired.filter(status__in=(Notice.QUEUED, Notice.FAILED)).update(
        status=Notice.DEAD, claimed_until=None, last_error="expired before it could be sent"
    )
    wiped = _wipe(AffectedCheck.objects.expired_unwiped(now))
    deleted, _by_model = AffectedCheck.objects.filter(expires_at__lt=now - KEEP).delete()
    return wiped, deleted
