"""One log line format for every process of the app (web, notifier, ``make run``'s runner).

Timestamps are UTC and say so. Django sets the process's time zone to TIME_ZONE (Tehran by
default) while the runner keeps the machine's, so local-time stamps jumped by hours between
lines of the same terminal.
"""

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    """``2026-11-24T19:45:35.287Z INFO name: message``."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self, fmt: str = FORMAT, *args: object, **kwargs: object) -> None:
        super().__init__(fmt, *args, **kwargs)
