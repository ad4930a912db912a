"""Sign-in (throttled), sign-out and the language switch."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from core import signin
from core.models import Profile
from frontend.middleware import SUPPORTED_LANGUAGES


class LoginView(auth_views.LoginView):
    template_name = "frontend/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = signin.client_address(request)
        username = request.POST.get("username", "")[: signin.USERNAME_MAX]
        wait = signin.wait_seconds(address, username)
        if wait:
            # Refused before the password is even checked, so guessing gains nothing by hurrying.
            # An unbound form: binding it would run authenticate() and check the password.
            form = self.get_form_class()(request)
            context = self.get_context_data(form=form, throttled=wait)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            signin.record_success(address, username)
        else:
            signin.record_failure(address, username, "page")
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if context.get("throttled"):
            context["throttle_message"] = signin.refusal_message(context["throttled"])
        return context


class LogoutView(auth_views.LogoutView):
    pass


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie), plus the saved choice for a signed-in person, since the
    saved choice outranks the cookie and would otherwise undo the switch on the next page."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in SUPPORTED_LANGUAGES:
        profile = Profile.for_user(request.user)
        if profile.language != language:
            profile.language = language
            profile.save(update_fields=["language"])
    return django_set_language(request)
