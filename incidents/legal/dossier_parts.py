"""What a dossier is made of: the incident's record, gathered once, with the record's
verification made for it. The PDF (dossier.py) and the JSON export (dossier_export.py) both read
these parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.legal.record import verify_record
from incidents.models import Incident, VerificationRun


@dataclass
class DossierData:
    incident: Incident
    verification: VerificationRun

    @property
    def events(self) -> list[Any]:
        return list(self.incident.events.order_by("seq"))

    @property
    def referrals(self) -> list[Any]:
        return list(self.incident.referrals.prefetch_related("evidence"))

    @property
    def obligations(self) -> list[Any]:
        return list(self.incident.obligations.select_related("rule", "decided_by"))

    @property
    def access_records(self) -> list[Any]:
        """Who read this incident (need to know): oldest first, this export included."""
        return list(self.incident.access_records.order_by("id"))

    @property
    def evidence(self) -> list[Any]:
        items = self.incident.evidence.select_related("uploaded_by")
        return list(items.prefetch_related("custody"))


def gather(incident: Incident) -> DossierData:
    """Verify the record now (stored like any verification) and collect the incident's parts."""
    return DossierData(incident=incident, verification=verify_record(source="dossier"))
