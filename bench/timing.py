"""Opt-in (BENCH_TIMING=1) middleware that reports, at exit, the mean time spent inside Django per
path kind: separates the view's own cost from the server's around it."""

import atexit
import os
import sys
import time
from collections import defaultdict

_totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])


def _report() -> None:
    for kind, (total, n) in sorted(_totals.items()):
        if n:
            print(
                f"TIMING {kind} n={n} mean_ms={total / n * 1000:.3f}", file=sys.stderr, flush=True
            )


if os.environ.get("BENCH_TIMING"):
    atexit.register(_report)


def timing(get_response):
    def middleware(request):
        start = time.perf_counter()
        response = get_response(request)
        kind = "transition" if "/transitions/" in request.path else "bare"
        acc = _totals[kind]
        acc[0] += time.perf_counter() - start
        acc[1] += 1
        if acc[1] % 250 == 0:
            _report()
        return response

    return middleware
