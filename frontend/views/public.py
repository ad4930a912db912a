"""The public notice page and its "Am I affected?" check (issue 18, "On the site"): anonymous
pages, in Persian or English (the language switch and Accept-Language, as everywhere), under
the strict Content-Security-Policy of every page of ours, never cached (``no-store``), and
never holding a person's data: the address a visitor typed is not even echoed back.

Three steps, each a form with its CSRF token and each Post/Redirect/Get, so the address bar
always shows a page of its own and a reload never sends a form again
(frontend/views/flash_forms.py): the notice with the address form; the code form at
``verify/`` (the same page whatever the address: incidents/affected/checks.py), the pending
check's handle kept in the session; the answer at ``answer/``, kept in the session and shown
once. A refused form goes back (303) to its page with an error summary; neither the address
nor the code is kept for it, and nothing personal is ever in an URL. An unknown slug and an
incident without a notice page are the same 404; a spent limit is a 429 page with Retry-After.
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
from frontend.views import flash_forms
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

PAGE_METHODS = ["GET", "HEAD"]
FORM_METHODS = ["GET", "HEAD", "POST"]
# The session's keys of one notice page's check: the pending check, then its answer (shown once).
PENDING_KEY = "frontend.public.pending.{slug}"
ANSWER_KEY = "frontend.public.answer.{slug}"


class AddressForm(forms.Form):
    address = forms.CharField(label=_("Your email address or mobile number"), max_length=300)
    not_kept = ("address",)  # a refused address is not echoed, nor held in the session


class CodeForm(forms.Form):
    handle = forms.CharField(widget=forms.HiddenInput, max_length=32)
    code = forms.CharField(label=_("The code we sent you"), max_length=40)
    not_kept = ("code",)


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
    context.setdefault("summary_title", _("Please check what you entered"))
    return render(request, f"frontend/public/{template}", context, status=status)


def not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/public/not_found.html", status=404)


def _path(name: str, slug: str) -> str:
    return reverse(f"frontend:{name}", args=[slug])


def _to_notice(slug: str) -> HttpResponse:
    return redirect(_path("public_notice", slug))


@never_cache
@require_http_methods(PAGE_METHODS)
def notice_page(request: HttpRequest, slug: str) -> HttpResponse:
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    page = _path("public_notice", slug)
    refusal = flash_forms.kept_values(request, page).get("error")
    context = flash_forms.show_kept(request, page, {"form": AddressForm(), "error": refusal})
    return _page(request, "notice.html", incident, slug, **context)


@never_cache
@require_http_methods(FORM_METHODS)
def check(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 1: an address in, a code out to it, then (303) the code form."""
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    if request.method != "POST":  # a reload or the language switch: back to the notice
        return _to_notice(slug)
    notice = _path("public_notice", slug)
    form = AddressForm(request.POST)
    if not form.is_valid():
        return flash_forms.back_to(request, notice, {"form": form})
    try:
        pending = request_code(
            incident, form.cleaned_data["address"], page_language(), client_address(request)
        )
    except AddressInvalid as refusal:
        form.add_error("address", refusal.detail)
        return flash_forms.back_to(request, notice, {"form": form})
    except TooManyChecks as refusal:
        return _throttled(request, incident, slug, refusal)
    by_sms = pending.channel == NoticeChannel.SMS
    request.session[PENDING_KEY.format(slug=slug)] = {"handle": pending.handle, "by_sms": by_sms}
    return flash_forms.SeeOther(_path("public_verify", slug))


@never_cache
@require_http_methods(FORM_METHODS)
def verify_code(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 2: the code form (GET: a reload shows it again and sends no new code), the code in
    (POST), then (303) the answer."""
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    if request.method == "POST":
        return _verify(request, incident, slug)
    pending = request.session.get(PENDING_KEY.format(slug=slug))
    if not pending:  # no check under way (or the language switch after the answer)
        return _to_notice(slug)
    page = _path("public_verify", slug)
    fresh = {"form": CodeForm(initial={"handle": pending["handle"]})}
    context = flash_forms.show_kept(request, page, fresh)
    return _page(request, "code.html", incident, slug, by_sms=pending["by_sms"], **context)


def _verify(request: HttpRequest, incident: Incident, slug: str) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        return flash_forms.back_to(request, _path("public_verify", slug), {"form": form})
    try:
        answer = verify(incident, form.cleaned_data["handle"], form.cleaned_data["code"])
    except WrongCode as refusal:
        form.add_error("code", refusal.detail)
        return flash_forms.back_to(request, _path("public_verify", slug), {"form": form})
    except CheckSpent as refusal:
        request.session.pop(PENDING_KEY.format(slug=slug), None)
        notice = _path("public_notice", slug)
        return flash_forms.back_to(request, notice, {"error": refusal.detail})
    request.session.pop(PENDING_KEY.format(slug=slug), None)
    # In the session, never in an URL: the answer is about whoever holds this browser.
    request.session[ANSWER_KEY.format(slug=slug)] = {"affected": answer.affected}
    return flash_forms.SeeOther(_path("public_answer", slug))


@never_cache
@require_http_methods(PAGE_METHODS)
def answer_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 3: the answer, once; a reload (or the language switch) goes back to the notice."""
    incident = public_incident(slug)
    if incident is None:
        return not_found(request)
    key = ANSWER_KEY.format(slug=slug)
    # Only a GET shows it, so only a GET spends it (a HEAD, a link checker's, leaves it).
    answer = request.session.pop(key, None) if request.method == "GET" else request.session.get(key)
    if answer is None:
        return _to_notice(slug)
    return _page(request, "answer.html", incident, slug, affected=answer["affected"])


def _throttled(
    request: HttpRequest, incident: Incident, slug: str, refusal: TooManyChecks
) -> HttpResponse:
    response = _page(request, "throttled.html", incident, slug, 429, message=refusal.detail)
    response["Retry-After"] = str(refusal.wait)
    return response
