"""One place where failures become HTTP answers, for every API view of every app (STYLE.md
rule 7). Never a 500 for client input."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.body(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": _("Request body is too large.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response({"detail": _("Too many fields.")}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        # Every error answer is an object with `detail` (docs/api.md, the schema's error
        # shape): a bare list of messages (a filter's or a view's ValidationError("...")) becomes
        # the detail, and field errors keep their keys beside a general detail (issue 17 item 5).
        if isinstance(response.data, list):
            response.data = {"detail": " ".join(str(m) for m in response.data)}
        elif isinstance(response.data, dict) and "detail" not in response.data:
            response.data = {"detail": str(exc.default_detail), **response.data}
    return response
