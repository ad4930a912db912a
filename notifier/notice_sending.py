"""The worker's notice step (issue 18), run once per loop of ``run_notifier`` beside the Telegram
alerts and bounded, so a campaign of 100,000 people never holds an alert up:

1. record the answers of sends that finished;
2. plan campaigns (incidents/affected/sending.py): a batch every PLAN_AGAIN seconds while there
   is more to plan, else a look every PLAN_INTERVAL seconds (a campaign approved, one to
   finish);
3. per channel with room in flight, claim due notices within the sending rate
   (notifier/notices.py) and hand them to that channel's sending thread.

Each channel has one daemon thread with its own transport (one SMTP connection kept open while
there is work), fed through a queue; the ORM stays on the main thread. A send runs outside any
transaction: a worker killed after the server took a message and before its answer was recorded
sends that notice again once its lease expires. At most that one duplicate per notice in
flight, never a loss; on the normal path, never twice.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from incidents.affected.sending import advance_campaigns
from notifier.notices import (
    claim_notices,
    rate_opens_in,
    record_notice_failure,
    record_notice_sent,
    release,
)
from notifier.transports.base import NoticeTransport, OutgoingNotice, TransportError
from notifier.transports.channels import notice_transports

log = logging.getLogger(__name__)
IN_FLIGHT = 20  # notices claimed and not yet answered, per channel
PLAN_INTERVAL = 1.0  # seconds between looks at the campaigns when there was nothing to plan
# Between two batches of a campaign being planned: 500 notices a quarter second stay far ahead
# of any sending rate, and the rounds between are free for the alerts.
PLAN_AGAIN = 0.25
IDLE_CLOSE_SECONDS = 10.0  # a channel idle this long lets go of its connection
STOP_SECONDS = 10.0


class ChannelSender:
    """One channel's daemon thread: sends what it is given, in order, through its transport;
    each send's future holds None (sent) or the TransportError."""

    def __init__(self, transport: NoticeTransport) -> None:
        self.transport = transport
        self.queue: queue.Queue[tuple[OutgoingNotice, cf.Future] | None] = queue.Queue()
        self.thread = threading.Thread(
            target=self._run, name=f"notice-{transport.channel}", daemon=True
        )
        self.thread.start()

    def submit(self, out: OutgoingNotice) -> cf.Future:
        future: cf.Future = cf.Future()
        self.queue.put((out, future))
        return future

    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=IDLE_CLOSE_SECONDS)
            except queue.Empty:
                self.transport.close()
                continue
            if item is None:
                self.transport.close()
                return
            out, future = item
            if future.set_running_or_notify_cancel():
                future.set_result(self._send(out))

    def _send(self, out: OutgoingNotice) -> TransportError | None:
        try:
            self.transport.send(out)
        except TransportError as exc:
            return exc
        except Exception as exc:  # retried like a network error; never kills the thread
            # The type only: an exception's text may hold the address.
            log.error("notice %s: unexpected %s while sending", out.id, type(exc).__name__)
            return TransportError(f"unexpected {type(exc).__name__}")
        return None

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(STOP_SECONDS)


class Answering:
    """What the notices' step and the check codes' (notifier/check_codes.py) share: the sends in
    flight, their answers recorded, and at a stop the claims of those no thread started given
    back. A step names its rows' three record functions and what to call a row in the log."""

    what = "notice"
    record_sent: Callable[[OutgoingNotice], None] = staticmethod(record_notice_sent)
    record_failure: Callable[..., str] = staticmethod(record_notice_failure)
    release: Callable[[list[OutgoingNotice]], None] = staticmethod(release)

    def __init__(self) -> None:
        self.inflight: dict[cf.Future, OutgoingNotice] = {}

    @property
    def futures(self) -> list[cf.Future]:
        return list(self.inflight)

    def collect(self) -> None:
        """Record the answer of every send that finished, in one transaction (one commit for
        a round's answers; a failure records none, and they are sent again after their lease:
        at most the one duplicate a crash costs)."""
        done = [f for f in self.inflight if f.done()]
        if not done:
            return
        with transaction.atomic():
            for future in done:
                out, error = self.inflight[future], future.result()
                if error is None:
                    self.record_sent(out)
                else:
                    self.record_failure(
                        out, error.message, permanent=error.permanent, retry_after=error.retry_after
                    )
        for future in done:
            del self.inflight[future]

    def drain(self, timeout: float) -> None:
        """On stop: record the sends under way (up to ``timeout``); give back the claims of the
        rows no thread has started, so any worker may send them at once."""
        waiting = [f for f in self.inflight if f.cancel()]
        self.release([self.inflight.pop(f) for f in waiting])
        end = time.monotonic() + timeout
        while self.inflight and time.monotonic() < end:
            cf.wait(self.futures, timeout=0.2)
            self.collect()
        if self.inflight:
            log.warning(
                "%d %s sends unfinished at stop; their claims expire and they are retried",
                len(self.inflight),
                self.what,
            )


class NoticeSending(Answering):
    """The notice step of one worker. ``start`` before the loop, ``stop`` after it."""

    def __init__(self, transports: dict[str, NoticeTransport] | None = None) -> None:
        super().__init__()
        self._transports = transports
        self.senders: dict[str, ChannelSender] = {}
        self._next_plan = 0.0
        self._next_claim: dict[str, float] = {}
        self._held_back: dict[str, bool] = {}

    def start(self) -> None:
        transports = self._transports if self._transports is not None else notice_transports()
        self.senders = {channel: ChannelSender(t) for channel, t in transports.items()}
        self._next_claim = dict.fromkeys(self.senders, 0.0)
        self._held_back = dict.fromkeys(self.senders, False)

    def step(self) -> int:
        """One bounded round (module docstring); how much it set going (notices planned or
        claimed): the worker's loop goes on at once while that is more than zero."""
        self.collect()
        work = 0
        now = time.monotonic()
        if now >= self._next_plan:
            planned = advance_campaigns()
            self._next_plan = now + (PLAN_AGAIN if planned else PLAN_INTERVAL)
            work += planned
        for channel, sender in self.senders.items():
            held = sum(1 for out in self.inflight.values() if out.channel == channel)
            # Claim in batches once half have come back: one claim transaction per ten sends.
            if held > IN_FLIGHT // 2 or now < self._next_claim[channel]:
                continue
            # One moment for the claim and for the rate's next opening: read a little later,
            # the window could have opened meanwhile and the worker would sleep its poll.
            moment = timezone.now()
            batch = claim_notices(
                channel, IN_FLIGHT - held, lease_seconds=lease_seconds(channel), now=moment
            )
            held_back = 0.0
            if not batch:  # nothing due, or the rate spent for now: look again when it opens
                held_back = rate_opens_in(channel, moment)
                self._next_claim[channel] = now + (held_back or settings.NOTIFIER_POLL_SECONDS)
            self._held_back[channel] = held_back > 0
            for out in batch:
                self.inflight[sender.submit(out)] = out
            work += len(batch)
        return work

    def settle(self) -> int:
        """A last round before a worker run ``--until-idle`` exits: look at the campaigns and
        claim now, not at the next planning or claiming time, so a campaign whose notices are
        all answered is finished (and one with people left is planned) before the exit. A
        channel the rate holds back is left alone: it has nothing due. As ``step_safely``."""
        self._next_plan = 0.0
        for channel, held in self._held_back.items():
            if not held:
                self._next_claim[channel] = 0.0
        return step_safely(self)

    def wake_in(self) -> float:
        """How long an idle worker may wait before a channel the rate held back has room again
        (a long time when none is held back: new work comes with an event's wake-up, or the
        poll)."""
        now = time.monotonic()
        ready = [self._next_claim[c] - now for c, held in self._held_back.items() if held]
        return max(min(ready, default=3600.0), 0.0)

    def stop(self) -> None:
        for sender in self.senders.values():
            sender.stop()


def lease_seconds(channel: str) -> float:
    """How long a claim holds: the lease of every claim, plus a whole batch's sends one after
    the other at the transport's timeout (the last of a batch waits for the others)."""
    timeout = settings.EMAIL_TIMEOUT if channel == "email" else settings.SMS_TIMEOUT_SECONDS
    return settings.NOTIFIER_LEASE_SECONDS + IN_FLIGHT * timeout


class Stepping(Protocol):
    def step(self) -> int: ...


def step_safely(sending: Stepping) -> int:
    """``step``, with a failure logged instead of raised: notices (and the public check's codes,
    notifier/check_codes.py) must never stop the alerts.
    Database errors still go up (the worker reconnects)."""
    try:
        return sending.step()
    except DatabaseError:
        raise
    except Exception:
        log.exception("notice step failed; trying again next round")
        return 0
