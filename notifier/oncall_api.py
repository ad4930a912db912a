"""On call over the API (docs/oncall.md). Thin views (STYLE.md rule 7):

- ``GET  /api/oncall/``: every active rotation with who is on call now (until when) and who is
  next (from when); every role reads it;
- ``POST /api/oncall/{id}/take/``: ``{shift, reason?}``: the caller holds the shift that starts
  at ``shift`` instead of its holder;
- ``POST /api/oncall/{id}/swap/``: ``{shift, with_shift, reason?}``: the caller's shift starting
  at ``shift`` goes to the member who holds the one starting at ``with_shift``, and that one to
  the caller.

Both writes are for engineers and admins who are members of the rotation (403), of a shift not
yet over (409) that the rotation has (400); notifier/shifts.py holds the rules."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.api.schema import ErrorSerializer
from incidents.api.serializers import MomentField, StrictInputMixin
from notifier.models import Rotation, RotationOverride
from notifier.oncall import on_call_now
from notifier.shifts import REASON_MAX_LENGTH, ensure_may_change_shifts, swap_shifts, take_shift


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="get_username")


class RotationNowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="rotation.pk")
    name = serializers.CharField(source="rotation.name")
    shift = serializers.ChoiceField(choices=Rotation.SHIFTS, source="rotation.shift")
    handover_time = serializers.TimeField(source="rotation.handover_time")
    time_zone = serializers.CharField(source="rotation.time_zone")
    on_call = PersonSerializer(source="user", allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    next = PersonSerializer(source="next_user", allow_null=True)
    next_from = serializers.DateTimeField(allow_null=True)


class OnCallListSerializer(serializers.Serializer):
    rotations = RotationNowSerializer(many=True)


class OverrideSerializer(serializers.ModelSerializer):
    user = PersonSerializer()
    replaced = PersonSerializer(allow_null=True)
    created_by = PersonSerializer(allow_null=True)

    class Meta:
        model = RotationOverride
        fields = ["id", "rotation", "user", "replaced", "starts_at", "ends_at", "reason"]
        fields += ["created_by", "created_at"]


class TakeSerializer(StrictInputMixin, serializers.Serializer):
    shift = MomentField(help_text="When the shift starts, exactly (as GET /api/oncall/ says).")
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class SwapSerializer(TakeSerializer):
    with_shift = MomentField(help_text="When the other member's shift starts.")


class TakenSerializer(serializers.Serializer):
    overrides = OverrideSerializer(many=True)


class OnCallView(APIView):
    @extend_schema(responses={200: OnCallListSerializer})
    def get(self, request: Request) -> Response:
        return Response(OnCallListSerializer({"rotations": on_call_now()}).data)


class _ShiftChange(APIView):
    parser_classes = [JSONParser]

    def _rotation(self, request: Request, pk: int) -> Rotation:
        ensure_may_change_shifts(request.user)  # 403 before any complaint about the body
        return get_object_or_404(Rotation, pk=pk)

    def _created(self, overrides: list[RotationOverride]) -> Response:
        body = TakenSerializer({"overrides": overrides}).data
        return Response(body, status=status.HTTP_201_CREATED)


_REFUSALS: dict[int | str, Any] = {
    201: TakenSerializer,
    400: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
}


class TakeShiftView(_ShiftChange):
    @extend_schema(request=TakeSerializer, responses=_REFUSALS)
    def post(self, request: Request, pk: int) -> Response:
        rotation = self._rotation(request, pk)
        data = TakeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        override = take_shift(
            rotation,
            data.validated_data["shift"],
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return self._created([override])


class SwapShiftView(_ShiftChange):
    @extend_schema(request=SwapSerializer, responses=_REFUSALS)
    def post(self, request: Request, pk: int) -> Response:
        rotation = self._rotation(request, pk)
        data = SwapSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given, taken = swap_shifts(
            rotation,
            data.validated_data["shift"],
            data.validated_data["with_shift"],
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return self._created([given, taken])
