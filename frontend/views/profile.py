"""The person's own settings: language, time zone, and every channel alerts reach them on
(Telegram and Bale chats, their email)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.models import Profile
from frontend.profile_forms import ProfileForm
from frontend.views import flash_forms
from frontend.views.common import form_target
from notifier.channels import bot_channel, bot_channels
from notifier.linking import issue_link_token, unlink
from notifier.models import BOT_CHANNELS, ChatLink


def chat_channels(user: Any, issued: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Each bot channel as the profile shows it: its link (active or deactivated, with why),
    whether its bot is set up here, and the one-time link just issued (``issued``: channel ->
    token), if any."""
    links = {link.channel: link for link in ChatLink.objects.filter(user=user)}
    rows = []
    for bot in bot_channels():
        token = (issued or {}).get(bot.name)
        rows.append(
            {
                "name": bot.name,
                "label": bot.label,
                "link": links.get(bot.name),
                "available": bot.linkable,
                "deep_link": bot.deep_link(token) if token else None,
                "start_command": f"/start {token}" if token else None,
            }
        )
    return rows


def _context(request: HttpRequest, form: ProfileForm, **issued: str) -> dict[str, Any]:
    return {
        "form": form,
        "chats": chat_channels(request.user, issued),
        "email": request.user.email,
    }


def _saved_form(request: HttpRequest) -> ProfileForm:
    saved = Profile.for_user(request.user)
    return ProfileForm(
        initial={"language": saved.effective_language(), "time_zone": saved.effective_time_zone()}
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    saved = Profile.for_user(request.user)
    initial = {"language": saved.effective_language(), "time_zone": saved.effective_time_zone()}
    here = reverse("frontend:profile")
    if request.method != "POST":
        context = _context(request, ProfileForm(initial=initial))
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


def _bot(channel: str) -> Any:
    if channel not in BOT_CHANNELS:
        raise Http404
    return bot_channel(channel)


@form_target("frontend:profile")
@login_required
def chat_link(request: HttpRequest, channel: str) -> HttpResponse:
    """A fresh single-use deep link for one channel's bot, shown once (only its digest is
    stored)."""
    bot = _bot(channel)
    if not bot.linkable:
        return redirect("frontend:profile")
    token, _row = issue_link_token(request.user, bot.name)
    context = _context(request, _saved_form(request), **{bot.name: token})
    return render(request, "frontend/profile.html", context)


@form_target("frontend:profile")
@login_required
def chat_unlink(request: HttpRequest, channel: str) -> HttpResponse:
    """Unlink this person's chat on one channel (recorded; alerts queued for it are not
    sent)."""
    bot = _bot(channel)
    link = ChatLink.objects.on(bot.name).filter(user=request.user).first()
    if link is not None:
        unlink(link, "unlinked on the profile page")
        messages.success(request, _("Unlinked. No more alerts will be sent there."))
    return redirect("frontend:profile")
