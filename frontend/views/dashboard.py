"""The executives' home: live numbers, charts and the latest timeline entries."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers

from core.formats import is_persian
from frontend import charts, metrics
from frontend.views.affected_parts import progress_rows
from frontend.views.common import allowed, form_target, role_required
from frontend.views.review_parts import overdue_follow_ups
from incidents.choices import State
from incidents.labels import event_labels
from incidents.legal.record import ensure_may_verify, may_verify, verify_record
from incidents.lifecycle import may_write_incidents
from incidents.models import LogHead, VerificationRun


@role_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # The seq is read before the numbers: an event committed in between is then replayed by the
    # page's catch-up, never silently missing from both.
    seq = LogHead.objects.latest_seq()
    data = metrics.dashboard(jalali=is_persian(), reader=request.user)
    data["seq"] = seq
    rtl = translation.get_language_bidi()
    data["state_chart"] = charts.bars(
        [(row["value"], row["label"], row["count"]) for row in data["all_states"]], rtl=rtl
    )
    data["restore_chart"] = charts.bars(
        [(str(m["month"]), m["month"], round(m["hours"], 1)) for m in data["restore_months"]],
        rtl=rtl,
    )
    data["campaigns_in_flight"] = progress_rows(metrics.campaigns_in_flight(request.user))
    data["may_verify"] = may_verify(request.user)
    data["overdue_follow_ups"] = overdue_follow_ups(request.user)
    data["may_create"] = may_write_incidents(request.user)
    data["verification"] = VerificationRun.objects.latest_run() if data["may_verify"] else None
    data["live_labels"] = {
        "events": event_labels(),
        "states": {s.value: str(s.label) for s in State},
    }
    # htmx asks for the panels alone when the live script re-renders them after an event.
    page = "frontend/partials/dashboard_panels.html" if request.htmx else "frontend/dashboard.html"
    response = render(request, page, data)
    patch_vary_headers(response, ["HX-Request"])  # two bodies at one URL: caches must not mix
    return response


@form_target("frontend:dashboard")
@role_required
@allowed(ensure_may_verify)
def verify_now(request: HttpRequest) -> HttpResponse:
    """Walk the whole hash chain now, as `POST /api/record/verification/` does."""
    verify_record(source="web")
    return redirect("frontend:dashboard")


@role_required
def campaigns_in_flight(request: HttpRequest) -> HttpResponse:
    """The dashboard's "Notice campaigns in flight" alone: the panel asks for it every few
    seconds while a campaign is sent (sends write no event for the live stream to carry)."""
    rows = progress_rows(metrics.campaigns_in_flight(request.user))
    context = {"campaigns_in_flight": rows}
    return render(request, "frontend/partials/campaigns_in_flight.html", context)
