"""HTTP entry points: the Telegram webhook and the link-token API. Thin (STYLE.md rule 7)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import AnyRole
from incidents.models import Incident
from notifier.bot import process_update
from notifier.linking import deep_link, issue_link_token, unlink
from notifier.models import TELEGRAM, ChatLink
from notifier.subscriptions import follow, followed_references, unfollow

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    expected = settings.TELEGRAM_WEBHOOK_SECRET.encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    # Constant-time comparison; no secret configured means the webhook is off, not open.
    if not expected or not hmac.compare_digest(given, expected):
        return JsonResponse({"detail": "Forbidden."}, status=403)
    # Past the secret only Telegram speaks, and it delivers again whatever is not answered 200:
    # a body it should never have sent is logged and acknowledged, not refused.
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested thousands deep
        log.warning("ignoring a Telegram webhook body that is not JSON")
        return JsonResponse({})
    reply = process_update(data)
    return JsonResponse(reply or {})


class LinkStatusSerializer(serializers.Serializer):
    """GET /api/me/telegram-link/: only `linked` when there is no link."""

    linked = serializers.BooleanField()
    active = serializers.BooleanField(required=False)
    telegram_username = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    linked_at = serializers.DateTimeField(required=False, allow_null=True)
    deactivated_reason = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class LinkTokenSerializer(serializers.Serializer):
    """POST /api/me/telegram-link/: a new single-use token, hence 201 Created."""

    token = serializers.CharField()
    deep_link = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField()
    bot_username = serializers.CharField(allow_null=True)
    command = serializers.CharField()


class FollowingListSerializer(serializers.Serializer):
    following = serializers.ListField(child=serializers.CharField())


class FollowingSerializer(serializers.Serializer):
    following = serializers.BooleanField()


class ChatLinkView(APIView):
    """POST: a single-use link token and deep link. GET: link status. DELETE: unlink."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: LinkStatusSerializer})
    def get(self, request: Request) -> Response:
        link = ChatLink.objects.on(TELEGRAM).filter(user=request.user).first()
        return Response(_status(link))

    @extend_schema(request=None, responses={201: LinkTokenSerializer})
    def post(self, request: Request) -> Response:
        token, row = issue_link_token(request.user)
        return Response(
            {
                "token": token,
                "deep_link": deep_link(token),
                "expires_at": row.expires_at,
                "bot_username": settings.TELEGRAM_BOT_USERNAME or None,
                "command": f"/start {token}",
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        link = ChatLink.objects.on(TELEGRAM).filter(user=request.user).first()
        if link is not None:
            unlink(link, "unlinked on the web")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionsView(APIView):
    """GET: references of the incidents the user follows."""

    @extend_schema(responses={200: FollowingListSerializer})
    def get(self, request: Request) -> Response:
        return Response({"following": followed_references(request.user)})


class SubscriptionView(APIView):
    """PUT follows an incident's Telegram alerts; DELETE stops. Any Breach Desk role may:
    following changes nothing about the incident, so readers (executives) may too."""

    permission_classes = [AnyRole]

    def _incident(self, request: Request, reference: str) -> Incident:
        return get_object_or_404(Incident.objects.visible_to(request.user), reference=reference)

    # 201 when the follow is new, 200 when it already existed: both are documented.
    @extend_schema(request=None, responses={200: FollowingSerializer, 201: FollowingSerializer})
    def put(self, request: Request, reference: str) -> Response:
        created = follow(request.user, self._incident(request, reference))
        return Response(
            {"following": True}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, reference: str) -> Response:
        unfollow(request.user, self._incident(request, reference))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _status(link: ChatLink | None) -> dict[str, Any]:
    if link is None:
        return {"linked": False}
    return {
        "linked": True,
        "active": link.active,
        "telegram_username": link.username,
        "linked_at": link.linked_at,
        "deactivated_reason": link.deactivated_reason,
    }
