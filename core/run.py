"""`make run`: start every process of the app on this machine and stop them together.

The web server (daphne) and the Telegram notifier worker (log-only without a bot token).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from core.logs import UTCFormatter

log = logging.getLogger("breach_desk.run")


# A handshake may wait this long (daphne's default is 5 s): after a deploy every open dashboard
# reconnects at once, and one dropped at 5 s only comes back to queue again (bench/README.md,
# "Dashboard viewers"). docker-compose.yml passes the same.
DAPHNE_OPTIONS = ("--websocket_connect_timeout", "30")


def processes(host: str, port: int) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "web": [
            py,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            *DAPHNE_OPTIONS,
            "core.asgi:application",
        ],
        "notifier": [py, "manage.py", "run_notifier"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    handler = logging.StreamHandler()
    handler.setFormatter(UTCFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    children = {
        name: subprocess.Popen(cmd) for name, cmd in processes(args.host, args.port).items()
    }
    log.info(
        "Breach Desk on http://%s:%s/ (API docs at /api/docs/). Ctrl-C stops it.",
        args.host,
        args.port,
    )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                log.error("%s exited with code %s; stopping the rest", name, child.returncode)
                code, stopping = child.returncode or 1, True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
