"""How the API answers what never reaches a view: a URL that matches no route, a write sent
without the trailing slash, a Host Django refuses, a server error. Always JSON with ``detail``,
like every other API answer (docs/api.md). A page gets Django's handler, which renders the
friendly 404.html / 500.html of frontend/templates in the reader's language."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import common
from django.urls import is_valid_path
from django.utils.translation import gettext as _
from django.views import defaults

from core.db_outage import current_exception, database_unavailable, is_database_unavailable

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class CommonMiddleware(common.CommonMiddleware):
    """Django's, except that an API write is never redirected to add a slash: clients re-send a
    redirected POST or PATCH as a GET, so the write would be lost (and in DEBUG Django raises
    instead). It gets a JSON 404 that names the right URL. Reads still redirect."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if is_api(request) and request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if response.status_code == 404 and is_api(request) and not _is_json(response):
            return not_found_json(request)
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def not_found_json(request: HttpRequest) -> JsonResponse:
    detail = _("Not found.")
    with_slash = request.path_info + "/"
    if not request.path_info.endswith("/") and is_valid_path(
        with_slash, getattr(request, "urlconf", None)
    ):
        detail = _("Not found. API URLs end with a slash: %(url)s") % {"url": with_slash}
    return JsonResponse({"detail": detail}, status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400 (without DEBUG): a request Django refuses before any view, e.g. a Host header
    not in DJANGO_ALLOWED_HOSTS."""
    if is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404 (without DEBUG)."""
    if is_api(request):
        return not_found_json(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, *args: Any) -> HttpResponse:
    """handler500 (without DEBUG): the failure is logged; the client learns nothing more. A
    database that does not answer is a 503 with Retry-After instead (core/db_outage.py)."""
    if is_database_unavailable(current_exception()):
        return database_unavailable(request, as_json=is_api(request))
    if is_api(request):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    return defaults.server_error(request)
