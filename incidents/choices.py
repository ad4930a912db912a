"""Vocabularies of the domain. Values are part of the API; labels are what people read."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Limits of what people write that no single column fixes (a column's own max_length is the
# limit of what fills it: pages and the API read it from the model).
# The longest note a person may write: an investigation note, or a remark with a transition.
NOTE_MAX_LENGTH = 5000
MAX_SUBJECTS = 10**12  # an estimate of affected people beyond this is a typing error
MAX_SYSTEMS = 200  # affected systems of one incident
SYSTEM_NAME_MAX_LENGTH = 200


class State(models.TextChoices):
    DETECTED = "detected", _("Detected")
    SCOPING = "scoping", _("Scoping")
    RESTORING = "restoring", _("Restoring")
    RESTORED = "restored", _("Restored")
    REFERRED = "referred", _("Referred")
    CLOSED = "closed", _("Closed")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_STATES = (State.DETECTED, State.SCOPING, State.RESTORING, State.RESTORED, State.REFERRED)
TERMINAL_STATES = (State.CLOSED, State.DISMISSED)
# The states an incident reaches late and leaves rarely (refer, close, dismiss, reopen), which
# the years fill: the dashboard keeps their counts apart (frontend/metrics.py).
SETTLED_STATES = (State.REFERRED, *TERMINAL_STATES)


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class AttackVector(models.TextChoices):
    PHISHING = "phishing", _("Phishing")
    CREDENTIAL_STUFFING = "credential_stuffing", _("Credential stuffing")
    VULNERABILITY_EXPLOIT = "vulnerability_exploit", _("Exploited vulnerability")
    MISCONFIGURATION = "misconfiguration", _("Misconfiguration")
    MALWARE = "malware", _("Malware")
    INSIDER = "insider", _("Insider")
    THIRD_PARTY = "third_party", _("Third party / service provider")
    LOST_DEVICE = "lost_device", _("Lost or stolen device")
    OTHER = "other", _("Other")
    UNDETERMINED = "undetermined", _("Undetermined")


class DataCategory(models.TextChoices):
    """What the privacy policy says the company holds about customers."""

    IDENTITY = "identity", _("Identity (names)")
    CONTACT = "contact", _("Contact (mobile number, email)")
    POSTAL_ADDRESS = "postal_address", _("Postal address")
    BANK_ACCOUNT = "bank_account", _("Bank account")
    LEGAL_ENTITY_IDS = "legal_entity_ids", _("Legal-entity ids (economic code, national id)")
    PAYMENT_CARD = "payment_card", _("Payment card")
    CREDENTIALS = "credentials", _("Credentials")
    TECHNICAL = "technical", _("Technical (IP, browser, device, OS)")
    USAGE = "usage", _("Usage")
    COOKIES = "cookies", _("Cookies")


class Hosting(models.TextChoices):
    OWN = "own", _("Company's own servers")
    PROVIDER = "provider", _("Service provider")


class Authority(models.TextChoices):
    CYBER_POLICE = "cyber_police", _("Cyber police (FATA)")
    CYBERCRIME_PROSECUTOR = "cybercrime_prosecutor", _("Computer-crimes prosecutor")
    DATA_PROTECTION_AUTHORITY = "data_protection_authority", _("Data-protection authority")
    OTHER = "other", _("Other")
