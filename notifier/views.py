"""HTTP entry points: the bot webhooks (Telegram, Bale) and the link-token API per channel.
Thin (STYLE.md rule 7)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
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
from notifier.bot import Reply, process_update
from notifier.channels import SECRET_PATH, BotChannel, bot_channel
from notifier.linking import issue_link_token, unlink
from notifier.models import BALE, TELEGRAM, ChatLink
from notifier.subscriptions import follow, followed_references, unfollow
from notifier.transports.botapi import transport_for
from notifier.transports.errors import TransportError

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
log = logging.getLogger(__name__)


def _verified(given: str, expected: str) -> bool:
    """Constant-time comparison; no secret configured means the webhook is off, not open."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _update(request: HttpRequest, bot: BotChannel) -> Any:
    """The update in the body, or None. Past the secret only the channel speaks, and it
    delivers again whatever is not answered 200: a body it should never have sent is logged
    and acknowledged, not refused."""
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested thousands deep
        log.warning("ignoring a %s webhook body that is not JSON", bot.label)
        return None


@csrf_exempt
@require_POST
async def bot_webhook(request: HttpRequest, channel: str, secret: str = "") -> JsonResponse:
    """A bot channel's updates. The secret comes the way the channel can send it: Telegram
    puts the one given to setWebhook in a header; Bale's setWebhook takes a URL only, so its
    secret is the path's last part (``/bale/webhook/<secret>/``; should Bale send the header
    one day, ``/bale/webhook/`` takes it). The reply is the HTTP response where the channel
    reads one there (Telegram), else it is sent through the channel's API (docs/channels.md)."""
    bot = bot_channel(channel)
    in_path = bot.secret_in == SECRET_PATH and secret
    given = secret if in_path else request.headers.get(SECRET_HEADER, "")
    if not _verified(given, bot.webhook_secret):
        return JsonResponse({"detail": "Forbidden."}, status=403)
    data = _update(request, bot)
    reply = await sync_to_async(process_update)(bot.name, data) if data is not None else None
    if reply is None or bot.webhook_reply:
        return JsonResponse(reply or {})
    await send_reply_now(bot, reply)
    return JsonResponse({})


async def send_reply_now(bot: BotChannel, reply: Reply) -> None:
    """Send a bot reply through the channel's API now. A lost reply is asked again by the
    person (it is an answer to a command, not an alert), so a failure is logged, not queued."""
    transport = transport_for(bot)
    params = dict(reply)
    method = params.pop("method")
    try:
        await transport.call(method, params)
    except TransportError as exc:
        log.warning("%s reply %s failed: %s", bot.label, method, exc.message)
    finally:
        await transport.stop()


class BotLinkStatusSerializer(serializers.Serializer):
    """GET /api/me/<channel>-link/: only `linked` when there is no link."""

    linked = serializers.BooleanField()
    active = serializers.BooleanField(required=False)
    username = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    linked_at = serializers.DateTimeField(required=False, allow_null=True)
    deactivated_reason = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class LinkStatusSerializer(BotLinkStatusSerializer):
    """GET /api/me/telegram-link/: also the username under its older name."""

    telegram_username = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class LinkTokenSerializer(serializers.Serializer):
    """POST /api/me/<channel>-link/: a new single-use token, hence 201 Created."""

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
    """One bot channel's link (``channel``): POST a single-use link token and deep link for
    that channel's bot, GET the link status, DELETE to unlink."""

    permission_classes = [IsAuthenticated]
    channel = TELEGRAM

    def _link(self, request: Request) -> ChatLink | None:
        return ChatLink.objects.on(self.channel).filter(user=request.user).first()

    @extend_schema(responses={200: LinkStatusSerializer})
    def get(self, request: Request) -> Response:
        return Response(_status(self._link(request), self.channel))

    @extend_schema(request=None, responses={201: LinkTokenSerializer})
    def post(self, request: Request) -> Response:
        bot = bot_channel(self.channel)
        token, row = issue_link_token(request.user, self.channel)
        return Response(
            {
                "token": token,
                "deep_link": bot.deep_link(token),
                "expires_at": row.expires_at,
                "bot_username": bot.username or None,
                "command": f"/start {token}",
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        link = self._link(request)
        if link is not None:
            unlink(link, "unlinked on the web")
        return Response(status=status.HTTP_204_NO_CONTENT)


class BaleLinkView(ChatLinkView):
    """The Bale link: as the Telegram one, for the Bale bot."""

    channel = BALE

    @extend_schema(responses={200: BotLinkStatusSerializer})
    def get(self, request: Request) -> Response:
        return super().get(request)


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


def _status(link: ChatLink | None, channel: str) -> dict[str, Any]:
    if link is None:
        return {"linked": False}
    status = {
        "linked": True,
        "active": link.active,
        "username": link.username,
        "linked_at": link.linked_at,
        "deactivated_reason": link.deactivated_reason,
    }
    if channel == TELEGRAM:  # the field's name before Bale came
        status["telegram_username"] = link.username
    return status
