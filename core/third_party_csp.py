"""A Content-Security-Policy for the pages we do not write: the Django admin and the API docs
(Swagger UI). frontend.middleware gives our own pages theirs and skips these (issue 17 item 4).

Neither needs inline script: the admin's templates use none, and the docs page is drf-spectacular's
split view, whose start-up script is a file of its own. The docs page's one fixed inline <style>
is allowed by its hash, read from drf-spectacular's template so an upgrade keeps them in step;
any other inline style or script (an injection) stays blocked.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import drf_spectacular
from django.http import HttpRequest, HttpResponse

DOCS_TEMPLATE = Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
BASE = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; style-src 'self'"
)


def inline_style_hashes(template: str) -> list[str]:
    """CSP source expressions for each <style> block of ``template``."""
    blocks = re.findall(r"<style>(.*?)</style>", template, flags=re.S)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
        for b in blocks
    ]


ADMIN_CSP = BASE
DOCS_CSP = " ".join([BASE, *inline_style_hashes(DOCS_TEMPLATE.read_text())])


class ThirdPartyPagesCspMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is None:
            return response
        if match.app_name == "admin" or match.url_name == "admin-login":
            response.headers.setdefault("Content-Security-Policy", ADMIN_CSP)
        elif match.url_name == "api-docs":
            response.headers.setdefault("Content-Security-Policy", DOCS_CSP)
        return response
