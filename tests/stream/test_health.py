"""/healthz says the process answers; /readyz names the part that does not."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers


def test_healthz_answers_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_channel_layer_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_channel_layer_when_redis_is_unreachable(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["channel_layer"]}
