"""Cache-Control: no-store on every API answer (issue 17 item 4).

Incident data, evidence downloads and dossiers must not stay in a browser's or a proxy's cache,
and neither may their error answers (a 403 or 404 still says which references exist). Every one
of them is served under /api/, so one middleware covers them all, whatever view or exception
produced the response.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers

API_PREFIX = "/api/"


class NoStoreApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            # Django's own helper: no-cache, no-store, must-revalidate, private, max-age=0.
            add_never_cache_headers(response)
        return response
