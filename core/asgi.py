"""ASGI root: HTTP goes to Django; websockets pass the origin check, then the stream's
authentication (session cookie or ``Authorization: Token``), then the stream's routes."""

import asyncio
import gc
import os
import weakref
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
# Set Django up before importing anything that touches models.
django.setup(set_prefix=False)


class BoundedASGIHandler(ASGIHandler):
    """Django's ASGI handler, with at most ``limit`` requests inside middleware and views at once.

    Django runs each request's synchronous part in a thread of its own. Under load, dozens of
    such threads take turns on one interpreter, and a request holding a row lock (or SQLite's
    write lock) waits for its turn among all of them: locks are held longer and the latency tail
    grows. Waiting here, on the event loop, before the request starts, keeps the same throughput
    with a much shorter tail (bench/README.md, "Transitions"). Bodies are read before the wait,
    so a slow upload does not hold a turn.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        # One semaphore per event loop: a semaphore belongs to the loop it first waited on.
        self._turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def get_response_async(self, request: Any) -> Any:
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(self.limit)
        async with turns:
            return await super().get_response_async(request)


from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

django_application = BoundedASGIHandler(settings.WEB_MAX_CONCURRENT_REQUESTS)

from incidents.routing import websocket_application  # noqa: E402
from incidents.upload_limit import BodyLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Oversized bodies are refused before Django spools them to disk (docs/legal.md).
        "http": BodyLimit(django_application),
        "websocket": AllowedHostsOriginValidator(websocket_application()),
    }
)

if settings.WEB_GC_TUNING:
    # The stream's latency tail is mostly collector pauses walking the start-up heap (Django,
    # DRF, models): freeze it out of every collection, and collect young objects less often.
    # Measured in bench/README.md ("Live stream").
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
