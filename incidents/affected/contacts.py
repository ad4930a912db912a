"""One affected person's details as the register keeps them: checked and written one way, so the
same customer, email or mobile always seals and hashes the same (issue 18 part 2). Pure
functions, no I/O: the CSV import, the single add and the notices' "am I affected?" look-up all
normalise through here.

The rules:
- ``customer_id``: required; surrounding spaces stripped; at most 64 characters (ids of shop
  systems are numbers or UUIDs, 36 characters; 64 leaves room for a prefix); no control or
  invisible characters (two ids that look the same must be the same). Compared exactly, case
  included: an id is opaque.
- ``name``: optional, at most 200 characters, no control characters (the zero-width non-joiner
  and direction marks of Persian names stay).
- ``email``: Django's ``EmailValidator``, at most 254 characters (RFC 5321's path limit), the
  domain lower-cased. The local part is kept as written: RFC 5321 lets a mail server treat it
  as case-sensitive, and a notice must reach exactly the mailbox the customer gave. Look-ups
  (``email_key``) compare the whole address lower-cased, because every common provider ignores
  the case and a visitor checking "am I affected?" will not remember how they once typed it.
- ``mobile``: an Iranian mobile, written as ``+989121234567`` whatever the input: Persian,
  Arabic-Indic (or any other script's) digits read as ASCII; spaces, dashes, dots, parentheses
  and invisible direction marks dropped; ``+98``, ``0098``, ``98``, ``0``, ``+98 (0)`` and bare
  ``9xxxxxxxxx`` forms. Which form is meant follows from the number of digits, so a number
  whose own digits start with 98 (``0998...``) is never mistaken for a country code. Only
  ``9`` followed by nine digits is a mobile; landlines and other countries are refused.
- ``language``: ``fa`` or ``en`` in any case; empty means ``fa``.
- At least an email or a mobile: a person the company cannot reach cannot be told.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

from core import pii
from incidents.models import NoticeLanguage

CUSTOMER_ID_MAX = 64
NAME_MAX = 200
EMAIL_MAX = 254
# A mobile with every separator a person might type: "+98 (0) 912 - 123 - 4567" and more.
MOBILE_RAW_MAX = 40
FIELDS = ("customer_id", "name", "email", "mobile", "language")
LANGUAGES = frozenset(NoticeLanguage.values)

_email_validator = EmailValidator()
_MOBILE_SEPARATORS = frozenset(" -.()/\u00a0")


@dataclass(frozen=True)
class Person:
    """A checked person; ``email`` and ``mobile`` are "" when not given."""

    customer_id: str
    name: str
    email: str
    mobile: str
    language: str

    def sealed_fields(self) -> dict[str, str]:
        """What is sealed as one token (core/pii.py): everything but the language."""
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "email": self.email,
            "mobile": self.mobile,
        }


class PersonInvalid(Exception):
    """One or more fields of a person are wrong: ``errors`` is [(field, message), ...]."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def clean_person(values: Mapping[str, str | None]) -> Person:
    """The person ``values`` describe (keys from FIELDS, missing ones empty), normalised;
    PersonInvalid naming every wrong field (messages never repeat the value: they reach
    answers that may be logged by a client)."""
    errors: list[tuple[str, str]] = []
    cleaned: dict[str, str] = {}
    for field, clean in _CLEANERS.items():
        try:
            cleaned[field] = clean(values.get(field) or "")
        except ValidationError as exc:
            errors.append((field, exc.messages[0]))
    if not errors and not cleaned["email"] and not cleaned["mobile"]:
        errors.append(
            ("email", _("Give an email or a mobile (or both): one is needed to tell the person."))
        )
    if errors:
        raise PersonInvalid(errors)
    return Person(**cleaned)


def clean_customer_id(raw: str) -> str:
    value = unicodedata.normalize("NFC", raw).strip()
    if not value:
        raise ValidationError(_("The customer id is required."))
    if len(value) > CUSTOMER_ID_MAX:
        raise ValidationError(
            _("The customer id may be at most %(max)d characters.") % {"max": CUSTOMER_ID_MAX}
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValidationError(_("The customer id may not hold control or invisible characters."))
    return value


def clean_name(raw: str) -> str:
    value = unicodedata.normalize("NFC", raw).strip()
    if len(value) > NAME_MAX:
        raise ValidationError(_("The name may be at most %(max)d characters.") % {"max": NAME_MAX})
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValidationError(_("The name may not hold control characters (tabs, line breaks)."))
    return value


def clean_email(raw: str) -> str:
    """The address with its domain lower-cased; "" for none."""
    value = unicodedata.normalize("NFC", raw).strip()
    if not value:
        return ""
    message = _("Enter a valid email address.")
    if len(value) > EMAIL_MAX or "@" not in value:
        raise ValidationError(message)
    local, domain = value.rsplit("@", 1)
    value = f"{local}@{domain.lower()}"
    try:
        _email_validator(value)
    except ValidationError:
        raise ValidationError(message) from None
    return value


def clean_mobile(raw: str) -> str:
    """The Iranian mobile as ``+989xxxxxxxxx``; "" for none."""
    if len(raw) > MOBILE_RAW_MAX:
        raise ValidationError(_("Enter an Iranian mobile number, such as 0912 123 4567."))
    plus, digits = False, []
    for char in unicodedata.normalize("NFKC", raw).strip():
        if char.isdecimal():
            digits.append(str(unicodedata.decimal(char)))
        elif char == "+" and not digits and not plus:
            plus = True
        elif char in _MOBILE_SEPARATORS or unicodedata.category(char) in ("Zs", "Pd", "Cf"):
            continue
        else:
            raise ValidationError(_("Enter an Iranian mobile number, such as 0912 123 4567."))
    if not digits and not plus:
        return ""
    national = _national_number("".join(digits), plus)
    if national is None:
        raise ValidationError(_("Enter an Iranian mobile number, such as 0912 123 4567."))
    return "+98" + national


def _national_number(digits: str, plus: bool) -> str | None:
    """The ten digits ``9xxxxxxxxx`` that ``digits`` spells, told apart by length."""
    if plus:
        forms = {12: "98", 13: "980"}  # +98 9.., +98 (0) 9..
    else:
        forms = {10: "", 11: "0", 12: "98", 13: "980", 14: "0098", 15: "00980"}
    prefix = forms.get(len(digits))
    if prefix is None or not digits.startswith(prefix):
        return None
    national = digits[len(prefix) :]
    return national if national.startswith("9") else None


def clean_language(raw: str) -> str:
    value = raw.strip().lower() or NoticeLanguage.FA
    if value not in LANGUAGES:
        raise ValidationError(_("The language must be fa or en."))
    return value


_CLEANERS = {
    "customer_id": clean_customer_id,
    "name": clean_name,
    "email": clean_email,
    "mobile": clean_mobile,
    "language": clean_language,
}


def email_key(email: str) -> str:
    """What look-ups compare: the normalised address, lower-cased whole."""
    return email.lower()


def customer_hash(customer_id: str) -> str:
    return pii.lookup_hash("customer", customer_id)


def email_hash(email: str) -> str:
    """The keyed hash of a normalised email (``clean_email``); "" for none."""
    return pii.lookup_hash("email", email_key(email)) if email else ""


def mobile_hash(mobile: str) -> str:
    """The keyed hash of a normalised mobile (``clean_mobile``); "" for none."""
    return pii.lookup_hash("mobile", mobile) if mobile else ""
