"""Settings for bench/dashboard.py: the real settings plus a bare view to compare against."""

from core.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
