"""The person's own settings: language, time zone, and the Telegram link."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.models import Profile
from frontend.profile_forms import ProfileForm
from frontend.views import flash_forms
from frontend.views.common import form_target
from notifier.models import ChatLink


def telegram_status(user: Any) -> dict[str, Any]:
    """The person's chat link, and whether a bot is configured to link one."""
    return {
        "link": ChatLink.objects.filter(user=user, active=True).first(),
        "bot_configured": bool(settings.TELEGRAM_BOT_USERNAME),
    }


def _render(request: HttpRequest, form: ProfileForm, **extra: Any) -> HttpResponse:
    context = {"form": form, "telegram": telegram_status(request.user), **extra}
    return render(request, "frontend/profile.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    saved = Profile.for_user(request.user)
    initial = {"language": saved.effective_language(), "time_zone": saved.effective_time_zone()}
    here = reverse("frontend:profile")
    if request.method != "POST":
        context = {"form": ProfileForm(initial=initial), "telegram": telegram_status(request.user)}
        context = flash_forms.show_kept(request, here, context)
        return render(request, "frontend/profile.html", context)
    form = ProfileForm(request.POST, initial=initial)
    if not form.is_valid():
        return flash_forms.back_to(request, here, {"form": form})  # a reload never re-posts
    saved.language = form.cleaned_data["language"]
    saved.time_zone = form.cleaned_data["time_zone"]
    saved.save(update_fields=["language", "time_zone"])
    translation.activate(saved.language)
    messages.success(request, _("Saved."))  # in the language just chosen
    response = redirect("frontend:profile")
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, saved.language, samesite="Lax")
    return response


@form_target("frontend:profile")
@login_required
def telegram_link(request: HttpRequest) -> HttpResponse:
    """A fresh single-use deep link, shown once (only its digest is stored)."""
    if telegram_status(request.user) is None:
        return redirect("frontend:profile")
    from notifier.linking import deep_link, issue_link_token

    token, _row = issue_link_token(request.user)
    saved = Profile.for_user(request.user)
    form = ProfileForm(
        initial={"language": saved.effective_language(), "time_zone": saved.effective_time_zone()}
    )
    return _render(request, form, deep_link=deep_link(token), start_command=f"/start {token}")
