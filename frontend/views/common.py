"""Helpers every page view shares: role gates and the error page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.roles import roles_of


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "frontend/error.html", {"message": message}, status=status)


def role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else to the login page) and holding some Breach Desk role (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not roles_of(request.user):
            return error_page(request, 403, _("Your account has no Breach Desk role yet."))
        return view(request, *args, **kwargs)

    return wrapped
