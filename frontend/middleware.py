"""Per-request preferences (language, time zone) and the Content-Security-Policy header."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from core.models import Profile

SUPPORTED_LANGUAGES = {code for code, _ in settings.LANGUAGES}


class UserPreferencesMiddleware:
    """The language order is: saved choice, cookie, Accept-Language, LANGUAGE_CODE.

    LocaleMiddleware (earlier in the chain) already applied the last three; a signed-in user's
    saved choice overrides them here, because LocaleMiddleware runs before authentication.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language, zone = "", ""
        if request.user.is_authenticated:
            # A read, not Profile.for_user: a page view must never write a row.
            saved = (
                Profile.objects.filter(user=request.user)
                .values_list("language", "time_zone")
                .first()
            )
            if saved:
                language, zone = saved
        if language in SUPPORTED_LANGUAGES:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone or settings.TIME_ZONE))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' {ws}; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """A strict policy on our pages: no inline script or style can run, so an escaping mistake
    cannot become script execution. The admin and the API docs (third-party pages) are left
    alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.app_name == "frontend":
            host = request.get_host()
            ws = f"ws://{host} wss://{host}"
            response.headers.setdefault("Content-Security-Policy", CSP.format(ws=ws))
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
