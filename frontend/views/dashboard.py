"""The executives' home: live numbers, charts and the latest timeline entries."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

from core.roles import roles_of
from frontend import metrics, panels
from frontend.views.affected_parts import progress_rows
from frontend.views.common import allowed, form_target, role_required
from incidents.choices import State
from incidents.labels import event_labels
from incidents.legal.record import ensure_may_verify, verify_record
from incidents.lifecycle import may_write_incidents
from notifier.oncall import on_call_brief


@role_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page, or the panels alone for htmx (kept for clients without the live socket):
    both from the render shared by every reader of the same variant (frontend/panels.py)."""
    html = panels.for_page(request.user, roles_of(request.user), get_token(request))
    if request.htmx:
        response = HttpResponse(html)
    else:
        data = {
            "panels": mark_safe(html),  # rendered by our template, escaped there
            "may_create": may_write_incidents(request.user),
            # Outside the shared panels: a hand-over writes no event to re-render them on.
            "on_call": on_call_brief(),
            "live_labels": {
                "events": event_labels(),
                "states": {s.value: str(s.label) for s in State},
            },
            "ws_path": f"/ws/dashboard/?lang={translation.get_language()}",
        }
        response = render(request, "frontend/dashboard.html", data)
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
