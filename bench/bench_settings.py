"""Settings for benchmarks: the real settings plus a bare view to compare against."""

from core.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"

if __import__("os").environ.get("BENCH_TIMING"):
    MIDDLEWARE = ["bench.timing.timing", *MIDDLEWARE]  # noqa: F405
