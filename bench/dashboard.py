"""What one live-dashboard refresh costs the server, against a bare Django view.

    .venv/bin/python bench/dashboard.py [--incidents 1000] [--requests 60]

Every event makes each open dashboard re-render its panels once (docs/pages.md), so the panel
render time bounds how many dashboards one web process can keep live. The script builds a fresh
SQLite database in a temporary folder, creates the incidents through the domain functions (a
third left in each of detected/scoping/restoring, a share restored/referred/closed, some
restored up to 6 months ago so the charts and medians have data), then times, in one process:
the bare view (`/bench/bare/`), the htmx panel refresh (`GET /` with `HX-Request`) and the full
dashboard page. Results: bench/results/dashboard-<incidents>.json and bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, bench_env  # noqa: E402


def setup(tmp: str) -> None:
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    env = bench_env(tmp, settings="bench.bench_settings", DJANGO_ALLOWED_HOSTS="testserver")
    os.environ.update(env, DJANGO_DEBUG="0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("compile_translations", verbosity=0)


def populate(count: int) -> object:
    import datetime as dt

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from incidents.lifecycle import apply_transition, create_incident, update_incident
    from incidents.workspace.tasks import set_task_done

    eng = User.objects.create_user("eng")
    eng.groups.add(Group.objects.get_or_create(name="engineer")[0])
    exe = User.objects.create_user("exe")
    exe.groups.add(Group.objects.get_or_create(name="executive")[0])
    eng2 = User.objects.create_user("eng2")  # confirms the fixes: a second engineer
    eng2.groups.add(Group.objects.get_or_create(name="engineer")[0])

    def do_required_tasks(inc: object) -> None:
        for task in inc.tasks.required_open().order_by("confirms", "id"):
            set_task_done(task, actor=eng2 if task.confirms else eng)

    scope = {
        "attack_vector": "phishing",
        "affected_systems": [{"name": "db", "hosting": "own"}],
        "affected_subjects_estimate": 10,
        "data_categories": ["contact"],
    }
    now = timezone.now()
    for i in range(count):
        detected = now - dt.timedelta(days=(i * 7) % 180, hours=i % 24)
        inc, _ = create_incident(
            actor=eng,
            data={
                "title": f"Incident {i}",
                "severity": ("low", "medium", "high", "critical")[i % 4],
                "detected_at": detected,
            },
        )
        steps = i % 3
        if steps >= 1:
            inc, _ = apply_transition(inc, "start_scoping", actor=eng)
        if steps >= 2:
            inc, _ = update_incident(inc, actor=eng, changes=scope)
            do_required_tasks(inc)
            inc, _ = apply_transition(inc, "start_restoration", actor=eng)
            if i % 6 == 5:
                do_required_tasks(inc)
                apply_transition(
                    inc, "mark_restored", actor=eng, payload={"restoration_summary": "done"}
                )
    return exe


def timed(client: object, path: str, n: int, **headers: str) -> dict[str, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, **headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "max_ms": round(samples[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        setup(tmp)
        from django.test import Client

        started = time.perf_counter()
        exe = populate(args.incidents)
        built = time.perf_counter() - started
        client = Client(HTTP_ACCEPT_LANGUAGE="fa")
        client.force_login(exe)
        timed(client, "/", 5)  # warm caches, templates, translations
        result = {
            "incidents": args.incidents,
            "requests": args.requests,
            "populate_seconds": round(built, 1),
            "bare": timed(client, "/bench/bare/", args.requests),
            "panels": timed(client, "/", args.requests, HTTP_HX_REQUEST="true"),
            "page": timed(client, "/", args.requests),
        }
    result["panels_over_bare_p50"] = round(result["panels"]["p50_ms"] / result["bare"]["p50_ms"], 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"dashboard-{args.incidents}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
