"""A database that does not answer is a 503 with Retry-After, not a 500.

Django's handler500 (core.api.http.server_error) asks here first. It is the one place every
failure of a request reaches, wherever it was raised: in a view, in DRF's authentication, or in
a middleware reading the session or the user's preferences. Django has already rolled back
whatever atomic block the failure left (nothing is half-written) and logs the failure once, at
ERROR, with the path and the traceback, never the request body (django.request, log_response).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

# Long enough for a restart of PostgreSQL or a failover; clients and proxies honour it.
RETRY_AFTER_SECONDS = 10


def is_database_unavailable(exc: BaseException | None) -> bool:
    """A connection that cannot be made or was lost: Django's OperationalError and
    InterfaceError, which it raises for psycopg's (psycopg_pool's PoolTimeout included, an
    OperationalError subclass Django wraps when the pool has no connection to give)."""
    return isinstance(exc, (OperationalError, InterfaceError))


def current_exception() -> BaseException | None:
    """The exception Django is answering: handler500 runs inside its ``except`` block."""
    return sys.exc_info()[1]


def database_unavailable(request: HttpRequest, *, as_json: bool) -> HttpResponse:
    detail = _("The database is unavailable. Try again in a moment.")
    if as_json:
        response: HttpResponse = JsonResponse({"detail": detail}, status=503)
    else:
        # No request context: its processors would read the session and the user, from the
        # database that is not answering.
        page = render_to_string("core/database_unavailable.html", {"detail": detail})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
