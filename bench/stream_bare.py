"""Baseline for bench/stream.py: a bare channels consumer that only forwards a group message.

Served by daphne exactly like the app (same layer, same GC tuning); any frame a client sends is
group_sent to everyone, which is how the benchmark publishes."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.stream_settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402


class BareConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add("bench", self.channel_name)
        await self.accept()
        await self.send(text_data='{"type": "hello"}')

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send("bench", {"type": "bench.frame", "text": text_data})

    async def bench_frame(self, message: dict) -> None:
        await self.send(text_data=message["text"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([re_path(r"^ws/", BareConsumer.as_asgi())])}
)

if settings.WEB_GC_TUNING:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
