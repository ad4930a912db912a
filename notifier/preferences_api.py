"""GET/PUT /api/me/alert-preferences/: which alerts a person gets on each channel (issue 22).
Thin (STYLE.md rule 7): the serializers parse, ``notifier.preferences`` decides and stores."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Profile
from incidents.choices import Severity
from notifier.preferences import (
    PERSON_CHANNELS,
    ChannelState,
    channel_states,
    quiet_hours_error,
    set_preferences,
)

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


class ChannelPreferenceSerializer(serializers.Serializer):
    """One channel's effective choice, and whether it can reach the person."""

    channel = serializers.ChoiceField(choices=PERSON_CHANNELS)
    label = serializers.CharField()
    reachable = serializers.BooleanField(help_text="a linked active chat, or an email address")
    detail = serializers.CharField()
    customized = serializers.BooleanField(help_text="false: the channel's default applies")
    enabled = serializers.BooleanField()
    min_severity = serializers.ChoiceField(choices=Severity.choices)
    own_incidents_only = serializers.BooleanField()
    quiet_from = serializers.TimeField(allow_null=True, format="%H:%M")
    quiet_to = serializers.TimeField(allow_null=True, format="%H:%M")


class AlertPreferencesSerializer(serializers.Serializer):
    time_zone = serializers.CharField(help_text="quiet hours are read in this zone")
    channels = ChannelPreferenceSerializer(many=True)


class PreferenceChangeSerializer(serializers.Serializer):
    """A change to one channel; fields left out keep their value."""

    enabled = serializers.BooleanField(required=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    own_incidents_only = serializers.BooleanField(required=False)
    quiet_from = serializers.TimeField(required=False, allow_null=True, input_formats=TIME_FORMATS)
    quiet_to = serializers.TimeField(required=False, allow_null=True, input_formats=TIME_FORMATS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "quiet_from" in attrs or "quiet_to" in attrs:
            error = quiet_hours_error(attrs.get("quiet_from"), attrs.get("quiet_to"))
            if error:
                raise serializers.ValidationError({"quiet_hours": error})
        return attrs


class AlertPreferencesChangeSerializer(serializers.Serializer):
    """``{"telegram": {...}, "email": {...}}``: any of the channels, each a partial change."""

    telegram = PreferenceChangeSerializer(required=False)
    bale = PreferenceChangeSerializer(required=False)
    email = PreferenceChangeSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(PERSON_CHANNELS))
        if unknown:
            raise serializers.ValidationError(
                {name: [_("Not a channel: use telegram, bale or email.")] for name in unknown}
            )
        if not attrs:
            raise serializers.ValidationError(_("Name at least one channel to change."))
        return attrs


def _state(state: ChannelState) -> dict[str, Any]:
    pref = state.preference
    return {
        "channel": state.channel,
        "label": state.label,
        "reachable": state.reachable,
        "detail": state.detail,
        "customized": pref.stored,
        "enabled": pref.enabled,
        "min_severity": pref.min_severity,
        "own_incidents_only": pref.own_incidents_only,
        "quiet_from": pref.quiet_from,
        "quiet_to": pref.quiet_to,
    }


def preferences_body(user: Any) -> dict[str, Any]:
    body = {
        "time_zone": Profile.for_user(user).effective_time_zone(),
        "channels": [_state(s) for s in channel_states(user)],
    }
    return AlertPreferencesSerializer(body).data


class AlertPreferencesView(APIView):
    """GET: each channel's effective choice. PUT: change some channels (partial per channel)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: AlertPreferencesSerializer})
    def get(self, request: Request) -> Response:
        return Response(preferences_body(request.user))

    @extend_schema(
        request=AlertPreferencesChangeSerializer, responses={200: AlertPreferencesSerializer}
    )
    def put(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError(_("Send a JSON object keyed by channel."))
        changes = AlertPreferencesChangeSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        set_preferences(request.user, changes.validated_data)
        return Response(preferences_body(request.user))
