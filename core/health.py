"""Probes for load balancers and orchestrators: ``/healthz`` (the process answers) and
``/readyz`` (the database and the channel layer answer too). No authentication, no details
beyond the name of the failing part."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger("breach_desk.health")
PROBE_TIMEOUT = 2.0


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception as exc:
        log.warning("readyz: database unreachable (%s)", exc)
        return False
    finally:
        connection.close_if_unusable_or_obsolete()


async def _channel_layer_ok() -> bool:
    """Publish to an empty group: with Redis that is a round trip to the server (PUBLISH answers
    with a count), and unlike a private channel it leaves no subscription behind per probe."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        await asyncio.wait_for(layer.group_send("readyz", {"type": "readyz.ping"}), PROBE_TIMEOUT)
        return True
    except Exception as exc:
        log.warning("readyz: channel layer unreachable (%s: %s)", type(exc).__name__, exc)
        return False


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    failing = []
    if not await sync_to_async(_database_ok)():
        failing.append("database")
    if not await _channel_layer_ok():
        failing.append("channel_layer")
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})
