"""The dossier's section "Notice to affected people" in words (the template
incidents/print/dossier_notices.html lays it out): the notification decision, the register
counted, each campaign (its texts, who drafted and approved it, its notices counted per status
and channel) and all campaigns together, with the first and last notice sent. Counts and legal's
own words only: nothing here names a person of the register. Call inside
``translation.override``: the labels are the active language's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incidents.legal.dossier_parts import CampaignRecord, NoticeRecord
from incidents.models import Notice, NoticeChannel


@dataclass
class Counted:
    """Notices counted: all planned, per status, per channel and status, first and last sent."""

    planned: int
    statuses: list[tuple[str, int]]
    channels: list[tuple[str, list[tuple[str, int]]]]
    first_sent_at: Any
    last_sent_at: Any


@dataclass
class CampaignInWords:
    record: CampaignRecord
    subject: str
    body: str
    counts: Counted


def counted(counts: dict[str, Any]) -> Counted:
    statuses = dict(Notice.STATUSES)
    return Counted(
        planned=counts["planned"],
        statuses=[(str(statuses[s]), counts[s]) for s in statuses],
        channels=[
            (str(NoticeChannel(channel).label), [(str(statuses[s]), by[s]) for s in statuses])
            for channel, by in counts["by_channel"].items()
        ],
        first_sent_at=counts["first_sent_at"],
        last_sent_at=counts["last_sent_at"],
    )


def in_language(texts: dict[str, str], language: str) -> str:
    """A campaign's text in the document's language, else in the other one it has."""
    return texts.get(language) or next(iter(texts.values()), "")


def notice_section(record: NoticeRecord, language: str) -> dict[str, Any]:
    """The template's context for the section. The templates' letter is the seeded one, the
    same for every campaign that took it; a letter legal wrote is shown as it went out (before
    each reader's name was put in)."""
    campaigns = [
        CampaignInWords(
            record=one,
            subject=in_language(one.campaign.subject, language),
            body=in_language(one.campaign.body, language) if one.source == "texts" else "",
            counts=counted(one.counts),
        )
        for one in record.campaigns
    ]
    return {
        "decision": record.decision,
        "register": record.register,
        "campaigns": campaigns,
        "totals": counted(record.totals),
    }
