"""What the incident page shows of the post-incident review (incidents/workspace/): the summary
drafted from the record, the review and its form, the follow-ups with their buttons; and the
dashboard's overdue follow-ups. Used by the incident page (frontend/views/workspace.py), the
review's views (which show a refused form again in it) and the dashboard."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from frontend.review_forms import FollowUpDoneForm, FollowUpEditForm, FollowUpForm, ReviewForm
from incidents.choices import State
from incidents.guards import has_finished_review
from incidents.models import FollowUp, Incident
from incidents.workspace.review import is_reviewable, may_write_review, review_of
from incidents.workspace.review_summary import review_summary

# The dashboard lists this many overdue follow-ups, the oldest due first, and counts them all.
OVERDUE_SHOWN = 20


def overdue_follow_ups(user: Any) -> dict[str, Any]:
    """Open follow-ups past due of the incidents ``user`` reads: two queries, any number."""
    now = timezone.now()
    overdue = FollowUp.objects.overdue(now).filter(incident__in=Incident.objects.visible_to(user))
    rows = list(
        overdue.select_related("incident", "owner").order_by("due_at", "id")[:OVERDUE_SHOWN]
    )
    return {"rows": rows, "total": overdue.count(), "now": now}


def _follow_up_rows(
    incident: Incident, may_write: bool, bound: dict[int, Any], now: Any
) -> list[dict[str, Any]]:
    rows = []
    for follow_up in incident.follow_ups.select_related("owner", "done_by"):
        row: dict[str, Any] = {
            "record": follow_up,
            "overdue": follow_up.is_overdue(now),
        }
        if may_write:
            row["edit_form"] = bound.get(follow_up.pk) or FollowUpEditForm(follow_up=follow_up)
            row["done_form"] = FollowUpDoneForm(
                initial={"version": follow_up.version, "done": not follow_up.done},
                prefix=f"done-{follow_up.pk}",
            )
        rows.append(row)
    return rows


def review_part(
    request: HttpRequest,
    incident: Incident,
    *,
    review_form: ReviewForm | None = None,
    follow_up_form: FollowUpForm | None = None,
    bound: dict[int, Any] | None = None,
) -> dict[str, Any]:
    """The section's context; ``review_shown`` is false before the incident is restored (the
    section is then left out). A handful of queries, whatever the incident's size."""
    if not is_reviewable(incident):
        return {"review_shown": False}
    review = review_of(incident)
    may_write = may_write_review(request.user)
    initial = {
        "version": review.version,
        "root_cause": review.root_cause,
        "went_well": review.went_well,
        "went_badly": review.went_badly,
        "finished": review.finished,
    }
    now = timezone.now()
    return {
        "review_shown": True,
        "review": review,
        "review_summary": review_summary(incident, now=now, with_timeline=False),
        "review_required": not has_finished_review(incident),
        "may_write_review": may_write,
        # A finished review of a closed incident is what it was closed on: no reopening here.
        "review_reopenable": may_write and review.finished and incident.state != State.CLOSED,
        "review_form": review_form or ReviewForm(initial=initial),
        "follow_up_rows": _follow_up_rows(incident, may_write, bound or {}, now),
        "follow_up_form": follow_up_form or FollowUpForm(),
    }
