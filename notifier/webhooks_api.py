"""Outbound webhooks over the API, for admins (docs/webhooks.md): list, register (the secret in
the answer, once), edit, delete, rotate the secret, and a hook's deliveries and dead letters.
Thin views (STYLE.md rule 7): the rules are notifier/webhooks.py's."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import MAX_ID, IdKeysetPagination
from core.roles import ADMIN, roles_of
from incidents.api.serializers import StrictInputMixin
from incidents.choices import Severity
from notifier.models import Delivery, OutboundWebhook
from notifier.webhooks import (
    InvalidWebhook,
    clean_kinds,
    clean_url,
    enqueue_ping,
    register_webhook,
    rotate_secret,
)

MAX_KINDS = 100


class IsAdmin(BasePermission):
    message = gettext_lazy("Only admins manage webhooks.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return ADMIN in roles_of(request.user)


def hook_or_404(pk: int) -> OutboundWebhook:
    if pk > MAX_ID:  # past any integer column: SQLite would raise, not answer "no such row"
        raise Http404
    return get_object_or_404(OutboundWebhook, pk=pk)


class WebhookSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", default=None, allow_null=True, read_only=True
    )
    kinds = serializers.ListField(child=serializers.CharField(), read_only=True)
    url = serializers.CharField(read_only=True)  # may hold a non-ASCII host, not a strict URI

    class Meta:
        model = OutboundWebhook
        fields = (
            "id",
            "name",
            "url",
            "kinds",
            "min_severity",
            "active",
            "created_at",
            "created_by",
        )
        read_only_fields = fields


class WebhookRegisteredSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown in this answer only.")

    class Meta(WebhookSerializer.Meta):
        fields = (*WebhookSerializer.Meta.fields, "secret")
        read_only_fields = fields


class WebhookWriteSerializer(StrictInputMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    url = serializers.CharField(max_length=500)
    kinds = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=MAX_KINDS
    )
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    active = serializers.BooleanField(required=False)

    def validate_url(self, value: str) -> str:
        try:
            return clean_url(value)
        except InvalidWebhook as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_kinds(self, value: list[str]) -> list[str]:
        try:
            return clean_kinds(value)
        except InvalidWebhook as exc:
            raise serializers.ValidationError(str(exc)) from None


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown in this answer only.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.IntegerField(
        source="event.seq", default=None, allow_null=True, read_only=True
    )
    incident = serializers.CharField(
        source="incident.reference", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Delivery
        fields = (
            "id",
            "event",
            "incident",
            "kind",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "next_attempt_at",
            "sent_at",
        )
        read_only_fields = fields


class WebhooksView(APIView):
    """Registered webhooks (admins)."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request: Request) -> Response:
        hooks = OutboundWebhook.objects.select_related("created_by").order_by("id")
        return Response(WebhookSerializer(hooks, many=True).data)

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookRegisteredSerializer})
    def post(self, request: Request) -> Response:
        given = WebhookWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        hook, secret = register_webhook(
            name=data.get("name", ""),
            url=data["url"],
            kinds=data.get("kinds", ()),
            min_severity=data.get("min_severity", Severity.LOW),
            active=data.get("active", True),
            created_by=request.user,
        )
        hook.secret = secret
        return Response(WebhookRegisteredSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookView(APIView):
    """One webhook (admins): read, change (any of name, url, kinds, min_severity, active),
    delete (with its deliveries)."""

    permission_classes = [IsAdmin]

    @extend_schema(responses=WebhookSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(WebhookSerializer(hook_or_404(pk)).data)

    @extend_schema(request=WebhookWriteSerializer, responses=WebhookSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        hook = hook_or_404(pk)
        given = WebhookWriteSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        for name, value in given.validated_data.items():
            setattr(hook, name, value)  # the serializer's CharFields trim whitespace
        hook.save()
        return Response(WebhookSerializer(hook).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        hook_or_404(pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretView(APIView):
    """A new signing secret for the webhook (admins); the old one stops at once."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=SecretSerializer)
    def post(self, request: Request, pk: int) -> Response:
        secret = rotate_secret(hook_or_404(pk))
        return Response({"secret": secret})


class PingSerializer(serializers.Serializer):
    delivery = serializers.IntegerField(help_text="The test delivery's id (its deliveries).")


class WebhookPingView(APIView):
    """Queue a test delivery (``"kind": "ping"``) to the webhook (admins); the worker sends it
    like an event's, signed, and its answer is in the hook's deliveries. 409 when the hook is
    switched off."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={202: PingSerializer})
    def post(self, request: Request, pk: int) -> Response:
        delivery = enqueue_ping(hook_or_404(pk))
        return Response({"delivery": delivery.pk}, status=status.HTTP_202_ACCEPTED)


class NewestFirst(IdKeysetPagination):
    ordering = "-id"


@extend_schema(
    parameters=[OpenApiParameter("status", str, enum=[value for value, _ in Delivery.STATUSES])]
)
class WebhookDeliveriesView(ListAPIView):
    """The webhook's deliveries, newest first (admins); ``?status=dead`` for its dead letters
    (retried from the admin's deliveries list)."""

    permission_classes = [IsAdmin]
    serializer_class = WebhookDeliverySerializer
    pagination_class = NewestFirst
    queryset = Delivery.objects.none()  # the schema's model; each request narrows to its hook

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        hook = hook_or_404(self.kwargs["pk"])
        rows = hook.deliveries.select_related("event", "incident")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in dict(Delivery.STATUSES):
                raise serializers.ValidationError(
                    {"status": [gettext_lazy("Unknown delivery status.")]}
                )
            rows = rows.filter(status=wanted)
        return rows
