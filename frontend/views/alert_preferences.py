"""The alerts page (/profile/alerts/): which alerts the person gets on each channel (issue 22).
One form per channel; ``notifier.preferences`` stores what they choose, as the API does."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Profile
from frontend.forms import Form
from incidents.choices import Severity
from notifier.preferences import ChannelState, channel_states, quiet_hours_error, set_preferences

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ChannelPreferenceForm(Form):
    enabled = forms.BooleanField(label=gettext_lazy("Send me alerts here"), required=False)
    min_severity = forms.ChoiceField(
        label=gettext_lazy("Only incidents at least this severe"),
        choices=Severity.choices,
        help_text=gettext_lazy("Reminders of legal deadlines come whatever the severity."),
    )
    own_incidents_only = forms.BooleanField(
        label=gettext_lazy("Only incidents I command, follow or have a task on"), required=False
    )
    quiet_from = forms.TimeField(
        label=gettext_lazy("Quiet hours from"), required=False, widget=TIME_WIDGET
    )
    quiet_to = forms.TimeField(
        label=gettext_lazy("Quiet hours until"), required=False, widget=TIME_WIDGET
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        error = quiet_hours_error(data.get("quiet_from"), data.get("quiet_to"))
        if error:
            raise forms.ValidationError(error)
        return data


def _form(state: ChannelState, data: Any = None) -> ChannelPreferenceForm:
    pref = state.preference
    initial = {
        "enabled": pref.enabled,
        "min_severity": pref.min_severity,
        "own_incidents_only": pref.own_incidents_only,
        "quiet_from": pref.quiet_from,
        "quiet_to": pref.quiet_to,
    }
    form = ChannelPreferenceForm(data, initial=initial, prefix=state.channel)
    form.id_prefix = state.channel
    return form


@login_required
def alert_preferences(request: HttpRequest) -> HttpResponse:
    states = channel_states(request.user)
    data = request.POST if request.method == "POST" else None
    channels = [(state, _form(state, data)) for state in states]
    if request.method == "POST":
        if all(form.is_valid() for _state, form in channels):
            set_preferences(
                request.user, {state.channel: form.cleaned_data for state, form in channels}
            )
            messages.success(request, _("Saved."))
            return redirect("frontend:alert_preferences")
    context = {
        "channels": channels,
        "time_zone": Profile.for_user(request.user).effective_time_zone(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "frontend/alert_preferences.html", context, status=status)
