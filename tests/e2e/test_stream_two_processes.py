"""Two daphne processes sharing PostgreSQL and Redis: a change made through one reaches
websockets held on both."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async

from tests.stream.conftest import token_of
from tests.stream.servers import LiveClient, daphne, transition

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.django_db(transaction=True)
async def test_transition_through_one_process_reaches_clients_on_both(
    require_postgres, require_redis, tmp_path, users, incident_in
):
    incident = await database_sync_to_async(incident_in)("detected")
    engineer = await database_sync_to_async(token_of)(users["engineer"])
    executive = await database_sync_to_async(token_of)(users["executive"])
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    with (
        daphne(tmp_path, redis_url=require_redis, prefix=prefix, name="a") as a,
        daphne(tmp_path, redis_url=require_redis, prefix=prefix, name="b") as b,
    ):
        on_a = LiveClient(a, executive)
        on_b = LiveClient(b, executive, path=f"/ws/incidents/{incident.reference}/")
        assert await on_a.connect() == await on_b.connect() == 1
        try:
            version = await transition(a, engineer, incident.reference, "start_scoping")
            got_a, got_b = await asyncio.gather(on_a.receive(), on_b.receive())
            for got in (got_a, got_b):
                assert got["seq"] == 2
                assert got["event"]["kind"] == "start_scoping"
                assert got["incident"]["state"] == "scoping"
                assert got["incident"]["version"] == version
            # And the other way round: through b, seen on a.
            await transition(b, engineer, incident.reference, "dismiss", reason="false alarm")
            assert (await on_a.receive())["incident"]["state"] == "dismissed"
            assert (await on_b.receive())["seq"] == 3
            assert on_a.live == on_b.live == [2, 3]
        finally:
            await asyncio.gather(on_a.close(), on_b.close())
