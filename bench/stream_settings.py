"""Settings for bench/stream.py: the real settings; BENCH_CHANNEL_LAYER=core swaps the Redis
pub/sub layer for channels-redis's core layer, to measure both."""

import os

from core.settings import *  # noqa: F403

if os.environ.get("BENCH_CHANNEL_LAYER") == "core" and REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CHANNELS_PREFIX", "bench")},  # noqa: F405
        }
    }
