"""The post-incident review as a document: a section of the dossier (the template
incidents/print/dossier_review.html, the JSON export's ``post_incident_review``) and a typeset
PDF of its own (incidents/print/review.html: the section and the timeline, on the engine of
incidents/legal/typeset.py). Staff's own words and the record's times: the review names no
person of the register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from incidents.legal import typeset
from incidents.models import FollowUp, Incident, Review
from incidents.workspace.review import review_of
from incidents.workspace.review_summary import Summary, review_summary

TEMPLATE = "incidents/print/review.html"


@dataclass
class ReviewRecord:
    review: Review
    summary: Summary
    follow_ups: list[FollowUp]


def review_record(incident: Incident, *, with_timeline: bool = False) -> ReviewRecord:
    """The review, its summary and its follow-ups (a handful of queries). Call with the
    document's language and zone active: the summary's words are built here."""
    follow_ups = incident.follow_ups.select_related("owner", "done_by", "created_by")
    return ReviewRecord(
        review=review_of(incident),
        summary=review_summary(incident, with_timeline=with_timeline),
        follow_ups=list(follow_ups),
    )


def review_pdf(incident: Incident, *, language: str) -> bytes:
    """The review alone in ``language`` ("fa" or "en"), with the timeline it was drafted from."""
    if language not in typeset.LANGUAGES:
        raise typeset.UnknownLanguage(language)
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        record = review_record(incident, with_timeline=True)
    page = {
        "incident": incident,
        "document_reference": incident.reference,
        "prepared_at": timezone.now(),
        "time_zone": settings.TIME_ZONE,
        "review": record,
        "timeline": record.summary.timeline,
    }
    return typeset.render_pdf(TEMPLATE, page, language=language)


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def export_review(record: ReviewRecord) -> dict[str, Any]:
    """The JSON export's section (times in UTC, spans in seconds)."""
    review, summary = record.review, record.summary
    return {
        "root_cause": review.root_cause,
        "went_well": review.went_well,
        "went_badly": review.went_badly,
        "finished_at": review.finished_at,
        "finished_by": _username(review.finished_by),
        "version": review.version,
        "phases": [
            {
                "state": p.state,
                "started_at": p.started_at,
                "ended_at": p.ended_at,
                "seconds": int(p.duration.total_seconds()),
            }
            for p in summary.phases
        ],
        "milestones": {
            name: None if span is None else int(span.total_seconds())
            for name, span in summary.milestones.items()
        },
        "follow_ups": [
            {
                "id": f.pk,
                "title": f.title,
                "owner": _username(f.owner),
                "due_at": f.due_at,
                "note": f.note,
                "done_at": f.done_at,
                "done_by": _username(f.done_by),
            }
            for f in record.follow_ups
        ],
    }
