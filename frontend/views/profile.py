"""The person's own settings: language, time zone, and the Telegram link."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation

from core.models import Profile
from frontend.forms import ProfileForm


def telegram_status(user: Any) -> dict[str, Any] | None:
    """The chat link and a deep link to start one, once the notifier exists (else None)."""
    try:
        from notifier.models import TelegramLink
    except ImportError:
        return None
    status: dict[str, Any] = {
        "link": TelegramLink.objects.filter(user=user, active=True).first(), "deep_link": None
    }
    try:
        from notifier import linking  # the Telegram issue's deep-link helper
    except ImportError:
        return status
    make = getattr(linking, "deep_link_for", None)
    if make is not None and status["link"] is None:
        status["deep_link"] = make(user)
    return status


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    saved = Profile.for_user(request.user)
    initial = {"language": saved.effective_language(), "time_zone": saved.effective_time_zone()}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            saved.language = form.cleaned_data["language"]
            saved.time_zone = form.cleaned_data["time_zone"]
            saved.save(update_fields=["language", "time_zone"])
            translation.activate(saved.language)
            response = redirect("frontend:profile")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, saved.language, samesite="Lax")
            return response
        status = 400
    else:
        status = 200
    context = {"form": form, "telegram": telegram_status(request.user)}
    return render(request, "frontend/profile.html", context, status=status)
