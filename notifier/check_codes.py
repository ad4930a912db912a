"""The code messages of the public "Am I affected?" check (issue 18; incidents/affected/checks.py):
the worker claims pending checks' messages, builds each one, sends it by email or SMS through
the notices' transports and records the answer, as it does notices (notifier/notices.py,
notifier/notice_sending.py): a lease taken with ``select_for_update(skip_locked=True)`` on
PostgreSQL and a conditional ``UPDATE`` elsewhere; sends on a thread per channel, outside any
transaction; a temporary failure retried with the notices' backoff, a permanent one (or
NOTICE_MAX_ATTEMPTS) dead.

Unlike a notice, a code is worth something only until its check expires: a retry that would
come after that is not made (dead, "expired"), and ``sweep`` wipes what is left. A code message
says the code, the company and the incident's reference, nothing else; the sealed address and
code are wiped as soon as it is sent or dead. Codes are few (limited per address and client
where they are asked for) and wanted now, so they do not wait behind a campaign's sending rate,
and in the worker they share the notices' channel threads, where a code waits behind at most
the notices in flight (20 per channel).

Nothing here logs an address or a code: checks are named by id.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core import pii
from core.formats import digits
from incidents.affected.letters import as_html, company_name, one_line
from incidents.models import AffectedCheck, Notice, NoticeChannel
from notifier.notice_sending import IN_FLIGHT, Answering, ChannelSender
from notifier.notice_sending import lease_seconds as channel_lease
from notifier.notices import notice_backoff, record_answer, release
from notifier.transports.base import NoticeTransport, OutgoingNotice
from notifier.transports.channels import notice_transports

log = logging.getLogger(__name__)


def claim_codes(
    channel: str, limit: int, *, lease_seconds: float, now: dt.datetime | None = None
) -> list[OutgoingNotice]:
    """Claim up to ``limit`` code messages due on ``channel`` and build each one. One that
    cannot be built (an unreadable row) is dead at once and not returned."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = AffectedCheck.objects.sendable(now).filter(channel=channel)
        ids = due.order_by("next_attempt_at", "id").values_list("id", flat=True)
        if connection.vendor == "postgresql":
            ids = ids.select_for_update(skip_locked=True)
        picked = list(ids[:limit])
        # The WHERE of this UPDATE re-checks "sendable", so only one claimer wins a row.
        AffectedCheck.objects.sendable(now).filter(id__in=picked).update(
            claim_token=token,
            claimed_until=now + dt.timedelta(seconds=lease_seconds),
            attempted_at=now,
        )
    claimed = AffectedCheck.objects.filter(claim_token=token).select_related("incident")
    built = (_built(check) for check in claimed.order_by("next_attempt_at", "id"))
    return [out for out in built if out is not None]


def _built(check: AffectedCheck) -> OutgoingNotice | None:
    try:
        sealed = pii.unseal(check.sealed)
        subject, text, html, sms = code_message(check, sealed["code"])
    except Exception as exc:
        log.error(
            "check %s: code message could not be built (%s): dead", check.pk, type(exc).__name__
        )
        _record(check.pk, check.claim_token, Notice.DEAD, check.attempts, timezone.now(), "")
        return None
    is_sms = check.channel == NoticeChannel.SMS
    return OutgoingNotice(
        id=check.pk,
        channel=check.channel,
        claim_token=check.claim_token,
        attempts=check.attempts,
        language=check.language,
        digest="",
        to=sealed["to"],
        subject="" if is_sms else subject,
        text=sms if is_sms else text,
        html="" if is_sms else html,
    )


def code_message(check: AffectedCheck, code: str) -> tuple[str, str, str, str]:
    """(subject, text, html, sms) of a check's code message in its language, from
    notifier/templates/notifier/check_code/ (one file per language, like the notices' seeds)."""
    language = check.language
    context = {
        "company": company_name(language),
        "reference": check.incident.reference,
        "code": code,
        "minutes": digits(settings.PUBLIC_CHECK_CODE_MINUTES, language=language),
    }
    email = render_to_string(f"notifier/check_code/email.{language}.txt", context).strip()
    subject, _blank, text = email.partition("\n\n")
    sms = render_to_string(f"notifier/check_code/sms.{language}.txt", context).strip()
    with translation.override(language):
        html = render_to_string(
            "incidents/notices/email.html",
            {
                "subject": one_line(subject),
                "body": as_html(text.strip()),
                "language": language,
                "rtl": language == "fa",
            },
        )
    return one_line(subject), text.strip(), html, sms


def record_code_sent(out: OutgoingNotice) -> None:
    """The transport took it: sent, and the address and code it carried wiped."""
    AffectedCheck.objects.filter(id=out.id).exclude(status=Notice.SENT).update(
        status=Notice.SENT,
        sent_at=timezone.now(),
        attempts=out.attempts + 1,
        claimed_until=None,
        last_error="",
        sealed="",
    )


def record_code_failure(
    out: OutgoingNotice, message: str, *, permanent: bool, retry_after: float | None = None
) -> str:
    """Retry (after ``retry_after`` or the backoff) while the check has not expired by then,
    else dead; the new status."""
    attempts = out.attempts + 1
    now = timezone.now()
    wait = retry_after if retry_after is not None else notice_backoff(attempts)
    next_at = now + dt.timedelta(seconds=wait)
    expires_at = AffectedCheck.objects.filter(id=out.id).values_list("expires_at", flat=True)
    expired = next_at >= (expires_at.first() or now)
    status = Notice.FAILED
    if permanent or attempts >= settings.NOTICE_MAX_ATTEMPTS or expired:
        status, next_at = Notice.DEAD, now
    _record(out.id, out.claim_token, status, attempts, next_at, message)
    log.warning("check %s (%s): attempt %s failed -> %s", out.id, out.channel, attempts, status)
    return status


def _record(
    pk: int, token: str, status: str, attempts: int, next_at: dt.datetime, error: str
) -> None:
    # A dead message will never be sent: its address and code go at once.
    wiped = {"sealed": ""} if status == Notice.DEAD else {}
    record_answer(
        AffectedCheck.objects.all(),
        pk,
        token,
        status=status,
        attempts=attempts,
        next_at=next_at,
        error=error,
        **wiped,
    )


def release_codes(outs: list[OutgoingNotice]) -> None:
    """Give back claimed code messages never handed to a transport (the worker stops)."""
    release(outs, AffectedCheck.objects.all())


class CheckCodeSending(Answering):
    """The code step of one worker, shaped like ``NoticeSending``: ``start`` before the loop,
    ``step`` each round, ``collect`` the answers, ``drain`` and ``stop`` at the end."""

    what = "check code"
    record_sent = staticmethod(record_code_sent)
    record_failure = staticmethod(record_code_failure)
    release = staticmethod(release_codes)

    def __init__(self, transports: dict[str, NoticeTransport] | None = None) -> None:
        super().__init__()
        self._transports = transports
        self.senders: dict[str, ChannelSender] = {}
        self._own: list[ChannelSender] = []
        self._next_claim: dict[str, float] = {}
        # A channel whose look was put off by the poll interval: an idle worker comes back then
        # (the wake-up of a new check may have come during the interval).
        self._owed: set[str] = set()

    def start(self, senders: dict[str, ChannelSender] | None = None) -> None:
        """Send through ``senders`` (the worker passes its notices' channel threads: one SMTP
        connection per channel, and a code waits behind at most the notices in flight), or
        through threads of its own over ``transports`` (or the configured ones)."""
        if senders is None:
            transports = self._transports
            if transports is None:
                transports = notice_transports()
            senders = {channel: ChannelSender(t) for channel, t in transports.items()}
            self._own = list(senders.values())
        self.senders = dict(senders)
        self._next_claim = dict.fromkeys(self.senders, 0.0)

    def step(self) -> int:
        """Record finished sends, then claim each channel's due codes (a look every
        NOTIFIER_POLL_SECONDS while none are due); how many were claimed."""
        self.collect()
        work, now = 0, time.monotonic()
        for channel, sender in self.senders.items():
            held = sum(1 for out in self.inflight.values() if out.channel == channel)
            if held >= IN_FLIGHT:
                continue
            if now < self._next_claim[channel]:
                self._owed.add(channel)
                continue
            self._owed.discard(channel)
            batch = claim_codes(channel, IN_FLIGHT - held, lease_seconds=channel_lease(channel))
            if not batch:
                self._next_claim[channel] = now + settings.NOTIFIER_POLL_SECONDS
            for out in batch:
                self.inflight[sender.submit(out)] = out
            work += len(batch)
        return work

    def wake_in(self) -> float:
        """How long an idle worker may wait before a look it put off is due."""
        now = time.monotonic()
        waits = [self._next_claim[channel] - now for channel in self._owed]
        return max(min(waits, default=3600.0), 0.0)

    def stop(self) -> None:
        for sender in self._own:
            sender.stop()
