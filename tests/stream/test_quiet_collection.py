"""A process's hub collects what its clients' connections left due once they stop coming
(core/gc_tuning.py ``QuietCollector``; the collector itself: tests/core/test_gc_tuning.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import gc_tuning
from incidents.stream.consumers import hub
from tests.stream.test_websocket_stream import hello

pytestmark = pytest.mark.django_db(transaction=True)


async def test_clients_connecting_make_the_hub_collect_when_quiet(ws, monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr(gc_tuning, "collect_due", lambda: calls.append(1))
    monkeypatch.setattr(gc_tuning, "QUIET_SECONDS", 0.1)
    communicator = await ws("executive")
    await hello(communicator)
    assert hub().quiet.timer is not None
    await asyncio.sleep(0.3)
    assert calls == [1]
    await communicator.disconnect()
