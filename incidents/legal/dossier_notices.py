"""The dossier's section "Notice to affected people" as lines of text (dossier.py draws them):
the notification decision, the register counted, each campaign (its texts, who drafted and
approved it, its notices counted per status and channel) and all campaigns together, with the
first and last notice sent. Counts and legal's own words only: nothing here names a person of
the register.

Labels are Persian and English side by side, as in the rest of the dossier; the decision's
words come from the catalogues in both languages. Free text (a reason, a subject, a letter)
goes on lines of its own: a line mixing Persian with English labels is laid out right-to-left
as a whole and reads scrambled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from django.utils import translation
from django.utils.functional import Promise

from incidents.affected.campaigns import STATUSES
from incidents.legal.dossier_parts import CampaignRecord, NoticeRecord
from incidents.models import Exemption, NotificationDecision, Outcome

Moment = Callable[[dt.datetime | None], str]


class Line(NamedTuple):
    text: str
    size: float = 9
    bold: bool = False


def in_both(label: Promise) -> str:
    """A word of the vocabulary in Persian and English, from the catalogues: 'فارسی / English'."""
    words = []
    for language in ("fa", "en"):
        with translation.override(language):
            words.append(str(label))
    return " / ".join(words)


def counted(counts: dict[str, Any], when: Moment) -> Iterator[Line]:
    """Notices counted per status and per channel, and when the first and last were sent."""
    per_channel = "; ".join(
        f"{channel}: " + ", ".join(f"{s} {by[s]}" for s in STATUSES)
        for channel, by in counts["by_channel"].items()
    )
    first, last = counts["first_sent_at"], counts["last_sent_at"]
    yield Line(f"notices {counts['planned']}: " + ", ".join(f"{s} {counts[s]}" for s in STATUSES))
    yield Line(f"by channel: {per_channel}")
    yield Line(f"first notice sent {when(first) if first else '—'}")
    yield Line(f"last notice sent {when(last) if last else '—'}")


def decision_lines(decision: NotificationDecision, when: Moment) -> Iterator[Line]:
    yield Line(f"تصمیم / Decision: {in_both(Outcome(decision.outcome).label)}", 10, True)
    if decision.exemption:
        yield Line(f"معافیت / Exemption: {in_both(Exemption(decision.exemption).label)}", 10)
    if decision.decided_at:
        who = decision.decided_by.username if decision.decided_by else "—"
        yield Line(f"decided by {who} at {when(decision.decided_at)}")
    else:
        yield Line("not decided yet")
    outcome = decision.outcome + (f" ({decision.exemption})" if decision.exemption else "")
    proposed = decision.proposed + (
        f" ({decision.proposed_exemption})" if decision.proposed_exemption else ""
    )
    yield Line(f"outcome {outcome}; risk {decision.risk or '—'}; proposed {proposed}")
    if decision.stale:
        since = when(decision.stale_since) if decision.stale_since else "—"
        yield Line(f"STALE since {since}: the scope changed after the decision; decide again")
    else:
        yield Line("not stale: the decision covers the current scope")
    if decision.reason:
        yield Line(decision.reason)


def campaign_lines(record: CampaignRecord, when: Moment) -> Iterator[Line]:
    c = record.campaign
    yield Line(f"کارزار / Campaign #{c.pk}", 10, True)
    yield Line(f"campaign #{c.pk} {c.state}")
    yield Line(f"drafted by {c.drafted_by.username} at {when(c.created_at)}")
    if c.approved_by:
        yield Line(f"approved by {c.approved_by.username} at {when(c.approved_at)}")
    for label, moment in (
        ("sending started", c.started_at),
        ("finished", c.finished_at),
        ("cancelled", c.cancelled_at),
    ):
        if moment:
            yield Line(f"{label} {when(moment)}")
    if c.cancelled_reason:
        yield Line(c.cancelled_reason)
    custom = record.source == "texts"
    source = "written for this campaign" if custom else "the notice templates"
    yield Line(f"texts: {source}; sha256 {record.sha256 or '—'}")
    for language, subject in c.subject.items():
        yield Line(f"subject ({language}):")
        yield Line(subject)
    # The templates' letter is the seeded one, the same for every campaign that took it; a
    # letter legal wrote is shown as it went out (before each reader's name was put in).
    if custom:
        for language, body in c.body.items():
            yield Line(f"body ({language}), as sent:")
            yield Line(body, 8)
    yield from counted(record.counts, when)


def notice_lines(record: NoticeRecord, when: Moment) -> Iterator[Line]:
    """The section's lines, under its heading."""
    yield from decision_lines(record.decision, when)
    people = record.register
    yield Line("فهرست افراد / Register", 10, True)
    yield Line(
        f"people in the register {people['people']} ({people['with_email']} with an email, "
        f"{people['with_mobile']} with a mobile); notified {people['notified']}; "
        f"purged {people['purged']}"
    )
    for campaign in record.campaigns:
        yield from campaign_lines(campaign, when)
    yield Line("همه کارزارها / All campaigns", 10, True)
    yield from counted(record.totals, when)
