"""Redis stopped in the middle: transitions still answer 200, and once Redis is back clients
catch up from /api/events/?after= with nothing missing. Uses a private redis-server."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from channels.db import database_sync_to_async

from incidents.models import LogHead
from tests.stream.conftest import token_of
from tests.stream.servers import REDIS_SERVER, LiveClient, RedisServer, daphne, edit, transition

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.mark.skipif(not os.access(REDIS_SERVER, os.X_OK), reason="needs redis-server")
@pytest.mark.django_db(transaction=True)
async def test_transitions_succeed_while_redis_is_down_and_clients_catch_up_after(
    tmp_path, users, incident_in
):
    incident = await database_sync_to_async(incident_in)("detected")
    reference = incident.reference
    engineer = await database_sync_to_async(token_of)(users["engineer"])
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with daphne(tmp_path, redis_url=redis.url, prefix=f"e2e{uuid.uuid4().hex[:8]}") as base:
            client, stayer = LiveClient(base, engineer), LiveClient(base, engineer)
            assert await client.connect() == await stayer.connect() == 1
            await transition(base, engineer, reference, "start_scoping")
            assert (await client.receive())["seq"] == 2
            assert (await stayer.receive())["seq"] == 2

            redis.kill()
            # Both answer 200 (asserted inside) although nothing can be broadcast.
            await edit(base, engineer, reference, severity="critical")
            await transition(base, engineer, reference, "dismiss", reason="duplicate")
            await transition(base, engineer, reference, "reopen", reason="not a duplicate")
            redis.start()

            # A client that reconnects gets hello with the head and fetches what it missed.
            await client.close()
            assert await client.connect() == 5
            assert sorted(client.seen) == [1, 2, 3, 4, 5]
            assert client.seen[5]["incident_summary"]["state"] == "scoping"

            # The stream is live again once this process's subscription is back (redis-py
            # reconnects on its own, within a few seconds): keep changing until one arrives.
            for attempt in range(40):
                await edit(base, engineer, reference, title=f"Leaked backup ({attempt})")
                try:
                    message = await client.receive(timeout=0.5)
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail("no live event within 20 s of Redis coming back")
            head = await database_sync_to_async(LogHead.objects.latest_seq)()
            assert message["incident"]["title"].startswith("Leaked backup (")
            # The client that stayed connected through the outage sees a gap or a heartbeat
            # and resyncs; neither client misses anything.
            while stayer.last < head:
                await stayer.receive(timeout=5)
            await client.catch_up()
            assert sorted(client.seen) == sorted(stayer.seen) == list(range(1, head + 1))
            await asyncio.gather(client.close(), stayer.close())
    finally:
        redis.kill()
