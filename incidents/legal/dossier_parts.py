"""What a dossier is made of: the incident's record, gathered once, with the record's
verification made for it. The PDF (dossier.py) and the JSON export (dossier_export.py) both read
these parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.affected.campaigns import CHANNELS, STATUSES, tally
from incidents.affected.decision import decision_of
from incidents.affected.register import counts as register_counts
from incidents.legal.record import verify_record
from incidents.legal.review_document import ReviewRecord, review_record
from incidents.models import (
    Incident,
    NoticeCampaign,
    NotificationDecision,
    VerificationRun,
)


@dataclass
class CampaignRecord:
    """One campaign as the dossier shows it: the campaign, whether legal wrote its texts
    (``source`` "texts") or took the templates ("templates"), the digest of its texts recorded
    when it was drafted, and its notices counted (``tally``'s shape)."""

    campaign: NoticeCampaign
    source: str
    sha256: str
    counts: dict[str, Any]


@dataclass
class NoticeRecord:
    """The section "Notice to affected people": the decision (an unsaved one, version 0, when
    nothing was decided yet), the register counted (never a person), each campaign, and the
    notices of all campaigns counted together. Counts only: nothing here names a person."""

    decision: NotificationDecision
    register: dict[str, Any]
    campaigns: list[CampaignRecord]
    totals: dict[str, Any]


def _sum_counts(counts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"planned": 0, **dict.fromkeys(STATUSES, 0)}
    total["by_channel"] = {channel: dict.fromkeys(STATUSES, 0) for channel in CHANNELS}
    total["first_sent_at"] = total["last_sent_at"] = None
    for one in counts:
        for key in ("planned", *STATUSES):
            total[key] += one[key]
        for channel in CHANNELS:
            for status in STATUSES:
                total["by_channel"][channel][status] += one["by_channel"][channel][status]
        for key, pick in (("first_sent_at", min), ("last_sent_at", max)):
            if one[key] is not None:
                total[key] = one[key] if total[key] is None else pick(total[key], one[key])
    return total


def notice_record(incident: Incident) -> NoticeRecord:
    """A handful of queries however many people and notices: the counts are aggregates."""
    campaigns = list(
        NoticeCampaign.objects.filter(incident=incident).select_related("drafted_by", "approved_by")
    )
    counts = tally([c.pk for c in campaigns])
    drafted = {
        (e.data.get("campaign") or {}).get("id"): e.data
        for e in incident.events.filter(kind="campaign.drafted").only("data")
    }
    records = [
        CampaignRecord(
            campaign=c,
            source=drafted.get(c.pk, {}).get("source", ""),
            sha256=drafted.get(c.pk, {}).get("sha256", ""),
            counts=counts[c.pk],
        )
        for c in campaigns
    ]
    return NoticeRecord(
        decision=decision_of(incident),
        register=register_counts(incident),
        campaigns=records,
        totals=_sum_counts(list(counts.values())),
    )


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

    @property
    def notices(self) -> NoticeRecord:
        return notice_record(self.incident)

    @property
    def review(self) -> ReviewRecord:
        """The post-incident review and its follow-ups; its summary in the active language
        (the dossier prints the record's own timeline, so the summary's is left out)."""
        return review_record(self.incident)


def gather(incident: Incident) -> DossierData:
    """Verify the record now (stored like any verification) and collect the incident's parts."""
    return DossierData(incident=incident, verification=verify_record(source="dossier"))
