"""The notifier worker: events -> deliveries -> every channel, with limits, retries and dead
letters.

Shape: the ORM runs on the main thread (plain synchronous Django). Each bot channel (Telegram,
Bale) has its own ``Sender``: an event loop in a helper thread with its own transport, rate
limiter, capacity and busy chats. Email alerts and webhooks are synchronous transports, each on a
thread of its own (``notifier.notice_sending.ChannelSender``), so a slow SMTP server or a hanging
webhook never holds up a chat alert. The main loop derives deliveries from the event log, claims
each channel's due rows, hands them to that channel's sender and records each answer. Sending
happens outside any transaction, so a crash after a channel accepted a message but before we
recorded it resends that one message once its claim expires: at most one duplicate, never a
loss.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from incidents.affected.checks import sweep as sweep_checks
from incidents.events import NOTIFY_CHANNEL
from incidents.legal.record_tsa import stamp_pending
from notifier.channels import bot_channel
from notifier.check_codes import CheckCodeSending
from notifier.escalation import escalate_due
from notifier.models import BOT_CHANNELS, TELEGRAM
from notifier.notice_sending import NoticeSending, step_safely
from notifier.outbox import (
    Outgoing,
    claim_due,
    derive_deliveries,
    record_failure,
    record_sent,
    release,
)
from notifier.ratelimit import RateLimiter
from notifier.reminders import enqueue_reminders
from notifier.senders import SyncSender, bot_transports, sync_transports
from notifier.transports.botapi import BotApiTransport, LogOnlyTransport
from notifier.transports.errors import TransportError
from notifier.update_reminders import enqueue_update_reminders

log = logging.getLogger(__name__)
ESCALATION_SCAN_SECONDS = 15.0
BUSY_TICK = 0.01  # how often the loop looks for new work while sends are in flight
ERROR_PAUSE_SECONDS = 5.0  # after an unexpected error in a cycle, before the next one


@dataclass
class Result:
    out: Outgoing
    message_id: int | None = None
    error: TransportError | None = None


class Sender:
    """One bot channel's asyncio loop in a thread that owns its transport and rate limiter;
    ``capacity`` sends in flight at most, each claim held ``lease`` seconds."""

    def __init__(
        self,
        transport: Any,
        limiter: RateLimiter,
        *,
        channel: str = TELEGRAM,
        capacity: int = 1,
        lease: float = 60.0,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.channel = channel
        self.capacity = capacity
        self.lease = lease
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"{channel}-sender", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        try:
            self.run(self.transport.start())
        except TransportError:
            log.warning("%s is not reachable yet; will retry with each send", self.channel)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit_all(self, batch: list[Outgoing]) -> list[cf.Future[Result]]:
        return [asyncio.run_coroutine_threadsafe(self._send(out), self.loop) for out in batch]

    async def _send(self, out: Outgoing) -> Result:
        assert out.chat_id is not None  # a bot channel's rows always name their chat
        await self.limiter.wait(out.chat_id)
        try:
            message_id = await self.transport.send(out.chat_id, out.text, out.reply_markup)
        except TransportError as exc:
            if exc.retry_after:
                self.limiter.pause_chat(out.chat_id, exc.retry_after)
            return Result(out, error=exc)
        except Exception as exc:  # an unknown failure is retried, never allowed to kill the loop
            log.exception("unexpected error sending delivery %s", out.id)
            return Result(out, error=TransportError(repr(exc)))
        finally:
            self.limiter.sent(out.chat_id)
        return Result(out, message_id=message_id)

    def stop(self) -> None:
        try:
            self.run(self.transport.stop(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


class Waker:
    """Blocks until an event may have been committed: PostgreSQL LISTEN, else a short poll."""

    def __init__(self, stop: threading.Event, poll: float) -> None:
        self.stop = stop
        self.poll = poll
        self.conn: Any = None
        self.listening = connection.vendor == "postgresql"
        if self.listening:
            self._connect()

    def _connect(self) -> None:
        s = connection.settings_dict
        try:
            self.conn = psycopg.connect(
                dbname=s["NAME"],
                user=s.get("USER") or None,
                password=s.get("PASSWORD") or None,
                host=s.get("HOST") or None,
                port=s.get("PORT") or None,
                autocommit=True,
            )
            self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except psycopg.Error:
            log.warning("cannot LISTEN for wake-ups; polling until the database is back")
            self.conn = None

    def wait(self, timeout: float) -> None:
        if self.conn is None:
            self.stop.wait(min(timeout, self.poll))
            if self.listening:
                self._connect()
            return
        try:
            # Wake on the first notification; the timeout bounds a lost NOTIFY and SIGTERM.
            for _ in self.conn.notifies(timeout=min(timeout, 1.0), stop_after=1):
                break
        except psycopg.Error:
            log.warning("lost the LISTEN connection; reconnecting", exc_info=True)
            self.close()
            self.conn = None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # closing a broken connection must not stop the worker
                log.debug("closing the LISTEN connection failed", exc_info=True)


class Worker:
    """``Worker(transport)``: ``transport`` is Telegram's (the other channels their defaults);
    ``Worker(transports={name: transport})`` names any channel's (telegram, bale, email,
    webhook). A channel not named gets its default (``notifier.senders``)."""

    def __init__(
        self,
        transport: BotApiTransport | LogOnlyTransport | None = None,
        *,
        transports: dict[str, Any] | None = None,
        stop: threading.Event | None = None,
        notices: NoticeSending | None = None,
        codes: CheckCodeSending | None = None,
    ) -> None:
        given = dict(transports or {})
        if transport is not None:
            given[TELEGRAM] = transport
        bots = {name: t for name, t in given.items() if name in BOT_CHANNELS}
        syncs = {name: t for name, t in given.items() if name not in BOT_CHANNELS}
        # Named transports replace the defaults; other configured channels keep theirs.
        self.bot_transports = bot_transports(bots)
        self.sync_transports = sync_transports(syncs)
        self.transport = self.bot_transports.get(TELEGRAM)
        self.stop = stop or threading.Event()
        self.senders: list[Sender] = []
        self.sync_senders: list[SyncSender] = []
        self.inflight: dict[cf.Future[Any], Outgoing] = {}
        self._next_scan = 0.0
        # Notices to the people affected (email, SMS): a step of their own in each cycle, sent
        # on threads of their own (notifier/notice_sending.py).
        self.notices = notices or NoticeSending()
        # The public check's one-time codes (notifier/check_codes.py), on the notices' threads.
        self.codes = codes or CheckCodeSending()

    def _bot_sender(self, name: str, transport: Any) -> Sender:
        limits = bot_channel(name)
        capacity = max(1, int(limits.global_rate * 2))
        # A claim must outlive the wait for a rate-limit slot plus the request itself.
        lease = settings.NOTIFIER_LEASE_SECONDS + capacity / limits.global_rate
        limiter = RateLimiter(limits.global_rate, limits.chat_interval)
        return Sender(transport, limiter, channel=name, capacity=capacity, lease=lease)

    def _start_senders(self) -> None:
        for name, transport in self.bot_transports.items():
            if getattr(transport, "log_only", False):
                log.warning("%s has no bot token: log-only mode, nothing reaches it", name)
            sender = self._bot_sender(name, transport)
            sender.start()
            self.senders.append(sender)
        self.sync_senders = [SyncSender(n, t) for n, t in self.sync_transports.items()]

    def _stop_senders(self) -> None:
        for sender in self.senders:
            sender.stop()
        for sync in self.sync_senders:
            sync.stop()

    def run(self, *, until_idle: bool = False, max_seconds: float | None = None) -> None:
        """Work until ``stop`` is set (SIGTERM), or until nothing is due when ``until_idle``."""
        self._start_senders()
        self.notices.start()
        self.codes.start(self.notices.senders)
        waker = Waker(self.stop, settings.NOTIFIER_POLL_SECONDS)
        deadline = time.monotonic() + max_seconds if max_seconds else None
        try:
            while not self.stop.is_set() and not (deadline and time.monotonic() > deadline):
                try:
                    claimed = self.cycle()
                    if not claimed and until_idle:
                        # Before the exit: campaigns finished (or planned) now, not at their
                        # next look, so a bounded run leaves none "sending" with all answered.
                        claimed = self.notices.settle()
                    if self.inflight or self.notices.inflight or self.codes.inflight:
                        self._collect(timeout=BUSY_TICK)
                        continue
                except DatabaseError:
                    # The database restarted or a connection died: reconnect on the next cycle.
                    # Rows stay where they were; nothing is lost, only delayed.
                    log.exception("database error in the notifier loop; retrying in a second")
                    connection.close()
                    self.stop.wait(1.0)
                    continue
                except Exception:
                    # A bug must not stop every alert: `make run` stops the whole app when the
                    # worker exits. Only a stop signal ends the loop.
                    log.exception(
                        "unexpected error in the notifier loop; retrying in %s s",
                        ERROR_PAUSE_SECONDS,
                    )
                    self.stop.wait(ERROR_PAUSE_SECONDS)
                    continue
                if not claimed:
                    if until_idle:
                        break
                    idle = 5.0 if waker.listening else settings.NOTIFIER_POLL_SECONDS
                    # No event wakes the worker when a sending rate opens again.
                    waker.wait(min(idle, self.notices.wake_in(), self.codes.wake_in()))
            self._drain()
        finally:
            waker.close()
            self._stop_senders()
            self.notices.stop()
            self.codes.stop()

    def cycle(self) -> int:
        """Derive, escalate, claim and submit once per channel, then the notices' and the check
        codes' steps; returns how many rows were claimed (and notices planned)."""
        derive_deliveries()
        if time.monotonic() >= self._next_scan:
            self._next_scan = time.monotonic() + ESCALATION_SCAN_SECONDS
            self._scan()
        claimed = 0
        # Email and webhooks after the chats: their threads never hold a chat alert up.
        for sender in [*self.senders, *self.sync_senders]:
            held = [out for out in self.inflight.values() if out.channel == sender.channel]
            free = sender.capacity - len(held)
            if free <= 0:
                continue
            # Chats this worker is still sending to (email and webhook rows name none).
            busy = {out.chat_id for out in held if out.chat_id is not None}
            batch = claim_due(
                free, busy_chats=busy, lease_seconds=sender.lease, channel=sender.channel
            )
            self.inflight.update(zip(sender.submit_all(batch), batch, strict=True))
            claimed += len(batch)
        # After the alerts, bounded: a notice campaign never holds an alert up.
        return claimed + step_safely(self.notices) + step_safely(self.codes)

    def _scan(self) -> None:
        """Escalations, reminders, the sweep of the public check's expired codes
        (incidents/affected/checks.py) and the record checkpoints' time-stamps
        (incidents/legal/record_tsa.py). A scan that fails is logged and tried again at the
        next one; it never keeps the cycle from sending what is already due."""
        scans = (
            ("escalation", self._escalate),
            ("reminder", enqueue_reminders),
            ("status-update reminder", enqueue_update_reminders),
            ("expired check", sweep_checks),
            # Record checkpoints not yet time-stamped (RECORD_TSA_URL; nothing without it).
            ("record time-stamp", lambda: stamp_pending(limit=20)),
        )
        for what, scan in scans:
            try:
                scan()
            except DatabaseError:
                raise
            except Exception:
                log.exception("%s scan failed; next try in %s s", what, ESCALATION_SCAN_SECONDS)

    @staticmethod
    def _escalate() -> None:
        if escalate_due():
            derive_deliveries()

    def _collect(self, timeout: float) -> None:
        waiting = [*self.inflight, *self.notices.futures, *self.codes.futures]
        done, _ = cf.wait(waiting, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        self.notices.collect()
        self.codes.collect()
        for future in done:
            if future not in self.inflight:
                continue  # a notice's or a code's: recorded above
            out = self.inflight.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the send's own bookkeeping failed: retry it like an error
                log.exception("send of delivery %s failed unexpectedly", out.id)
                result = Result(out, error=TransportError(repr(exc)))
            if not isinstance(result, Result):  # a synchronous channel's: None or the error
                result = Result(out, error=result)
            if result.error is None:
                record_sent(out, result.message_id)
            else:
                e = result.error
                record_failure(
                    out,
                    e.message,
                    permanent=e.permanent,
                    chat_gone=e.chat_gone,
                    retry_after=e.retry_after,
                )

    def _drain(self, timeout: float = 15.0) -> None:
        """On stop, record the answers of sends already under way; unclaimed rows stay due, and
        rows a synchronous channel's thread has not started are given back at once."""
        waiting = [f for f in self.inflight if f.cancel()]
        release([self.inflight.pop(f) for f in waiting])
        end = time.monotonic() + timeout
        while self.inflight and time.monotonic() < end:
            self._collect(timeout=0.2)
        if self.inflight:
            log.warning(
                "%d sends unfinished at stop; their claims expire and they are retried",
                len(self.inflight),
            )
        self.notices.drain(max(end - time.monotonic(), 1.0))
        self.codes.drain(max(end - time.monotonic(), 1.0))
