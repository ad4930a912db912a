"""The public notice page and its "Am I affected?" check (issue 18, "On the site"): anonymous
pages, in Persian or English (the language switch and Accept-Language, as everywhere), under
the strict Content-Security-Policy of every page of ours, never cached (``no-store``), and
never holding a person's data: the address a visitor typed is not even echoed back.

Three steps, each a form with its CSRF token: the notice with the address form; the code form
(the same page whatever the address: incidents/affected/checks.py); the answer. An unknown slug
and an incident without a notice page are the same 404. A refused form is shown again with its
error (400); a spent limit is a 429 page with Retry-After.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.signin import client_address
from incidents.affected.checks import (
    ADDRESS_MAX,
    AddressInvalid,
    CheckSpent,
    TooManyChecks,
    WrongCode,
    request_code,
    verify,
)
from incidents.affected.public_notice import public_incident, public_notice
from incidents.models import Incident, NoticeChannel, NoticeLanguage

FORM_METHODS = ["GET", "HEAD", "POST"]


class AddressForm(forms.Form):
    address = forms.CharField(label=_("Your email address or mobile number"), max_length=300)


class CodeForm(forms.Form):
    handle = forms.CharField(widget=forms.HiddenInput, max_length=32)
    code = forms.CharField(label=_("The code we sent you"), max_length=40)


def page_language() -> str:
    language = (translation.get_language() or "")[:2]
    return language if language in NoticeLanguage.values else settings.LANGUAGE_CODE


def _page(
    request: HttpRequest,
    template: str,
    incident: Incident,
    slug: str,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    notice = public_notice(incident, page_language())
    context |= {"notice": notice, "slug": slug, "address_max": ADDRESS_MAX}
    return render(request, f"frontend/public/{template}", context, status=status)


def not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/public/not_found.html", status=404)


@never_cache
@require_http_methods(["GET", "HEAD"])
def notice_page(request: HttpRequest, slug: str) -> HttpResponse:
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    return _page(request, "notice.html", incident, slug, form=AddressForm())


@never_cache
@require_http_methods(FORM_METHODS)
def check(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 1: an address in, a code out to it, the code form back."""
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    if request.method != "POST":  # a reload or the language switch: back to the notice
        return redirect(reverse("frontend:public_notice", args=[slug]))
    form = AddressForm(request.POST)
    if not form.is_valid():
        return _page(request, "notice.html", incident, slug, 400, form=form)
    try:
        pending = request_code(
            incident, form.cleaned_data["address"], page_language(), client_address(request)
        )
    except AddressInvalid as refusal:
        form.add_error("address", refusal.detail)
        return _page(request, "notice.html", incident, slug, 400, form=form)
    except TooManyChecks as refusal:
        return _throttled(request, incident, slug, refusal)
    code_form = CodeForm(initial={"handle": pending.handle})
    by_sms = pending.channel == NoticeChannel.SMS
    return _page(request, "code.html", incident, slug, form=code_form, by_sms=by_sms)


@never_cache
@require_http_methods(FORM_METHODS)
def verify_code(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 2: the code in, the answer out (once)."""
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    if request.method != "POST":
        return redirect(reverse("frontend:public_notice", args=[slug]))
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _page(request, "code.html", incident, slug, 400, form=form)
    try:
        answer = verify(incident, form.cleaned_data["handle"], form.cleaned_data["code"])
    except WrongCode as refusal:
        form.add_error("code", refusal.detail)
        return _page(request, "code.html", incident, slug, 400, form=form)
    except CheckSpent as refusal:
        again = AddressForm()
        return _page(request, "notice.html", incident, slug, 400, form=again, spent=refusal.detail)
    return _page(request, "answer.html", incident, slug, affected=answer.affected)


def _throttled(
    request: HttpRequest, incident: Incident, slug: str, refusal: TooManyChecks
) -> HttpResponse:
    response = _page(request, "throttled.html", incident, slug, 429, message=refusal.detail)
    response["Retry-After"] = str(refusal.wait)
    return response
