"""The domain's tables, one module per concept: the incident and its lifecycle, the legal
records (referrals, rules, obligations), evidence and custody, and the event log. Importing
this package registers every model with Django; callers import the names below from here."""

from incidents.models.events import Event, LogHead, VerificationRun
from incidents.models.evidence import CustodyEntry, Evidence
from incidents.models.incident import Incident, roles_see_incidents
from incidents.models.legal import JurisdictionRule, Obligation, ObligationReminder, Referral

__all__ = [
    "CustodyEntry",
    "Event",
    "Evidence",
    "Incident",
    "JurisdictionRule",
    "LogHead",
    "Obligation",
    "ObligationReminder",
    "Referral",
    "VerificationRun",
    "roles_see_incidents",
]
