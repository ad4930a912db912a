"""Helpers every page view shares: role gates and the error page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse

from core.errors import DomainError
from core.roles import NO_ROLE, roles_of


def to_section(incident: Any, anchor: str) -> HttpResponse:
    """After a change made from the incident page: back to the page, at the section (its
    element id) the change was made in."""
    return redirect(f"{reverse('frontend:incident', args=[incident.reference])}#{anchor}")


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "frontend/error.html", {"message": message}, status=status)


def role_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else to the login page) and holding some Breach Desk role (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not roles_of(request.user):
            return error_page(request, 403, str(NO_ROLE))
        return view(request, *args, **kwargs)

    return wrapped


def allowed(
    ensure: Callable[[Any], None],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view whose domain function checks the role first (``ensure(user)`` raises the
    domain's RoleForbidden): the page answers 403 with the domain's own words, before any
    complaint about the form."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                ensure(request.user)
            except DomainError as refusal:
                return error_page(request, refusal.status, refusal.detail)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def form_target(page: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view that takes a form's POST. A failed form is shown at this view's address, so the
    language switch (which returns to the current address), a reload or a bookmark comes back
    with a GET: send it to the page the form lives on (``page``, a URL name, given the view's
    ``reference`` when it has one) instead of answering a bare 405."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in ("GET", "HEAD"):
                reference = kwargs.get("reference")
                return redirect(reverse(page, args=[reference] if reference else []))
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
