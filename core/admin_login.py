"""The admin's sign-in page behind the one limiter (core/signin.py).

core/urls.py routes ``admin/login/`` here ahead of ``admin.site.urls`` (Django resolves the
first matching pattern, and the admin's own redirects use ``reverse("admin:login")``, which is
the same path). This view only adds the limiter around ``AdminSite.login``, the admin's public
login view; everything else about the page is the admin's own.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from core import signin


@never_cache
@csrf_protect
def admin_login(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request)
    address = signin.client_address(request)
    username = request.POST.get("username", "")[: signin.USERNAME_MAX]
    wait = signin.wait_seconds(address, username)
    if wait:
        return _refused(request, wait)
    response = admin.site.login(request)
    # The admin answers a good sign-in with a redirect and a refused one with the form again;
    # request.user alone cannot tell, since a signed-in non-staff user may post here.
    if isinstance(response, HttpResponseRedirect):
        signin.record_success(address, username)
    else:
        signin.record_failure(address, username, "admin")
    return response


def _refused(request: HttpRequest, wait: int) -> HttpResponse:
    """The admin's own sign-in page with the wait on it, without checking the password (an
    unbound form: binding it would run authenticate())."""
    form_class = admin.site.login_form or AdminAuthenticationForm
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        "form": form_class(request),
        "throttle_message": signin.refusal_message(wait),
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME, ""),
    }
    return TemplateResponse(
        request,
        "core/admin_login_throttled.html",
        context,
        status=429,
        headers={"Retry-After": str(wait)},
    )
