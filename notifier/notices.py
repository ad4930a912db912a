"""The notices' outbox (issue 18): claim due notices within the sending rate, build each one's
message, record what the transport answered. Synchronous ORM code on the worker's main thread;
the sends happen on the channels' threads (notifier/notice_sending.py).

Claiming follows the alerts' outbox (notifier/outbox.py): a lease (``claimed_until``,
``claim_token``) taken with ``select_for_update(skip_locked=True)`` on PostgreSQL and a
conditional ``UPDATE`` elsewhere, so two workers never hold the same notice. The rate
(EMAIL_RATE_PER_MINUTE, SMS_RATE_PER_MINUTE) is shared by every worker: each claim counts the
channel's attempts of the last minute (``attempted_at``, stamped by the claim) in a transaction
the channel's claimers take in turn (an advisory lock on PostgreSQL; SQLite's write lock,
taken at BEGIN, does it there), so no minute ever sees more attempts than the rate; and no two
seconds more than their share of it, so the minute's attempts are spread over the minute.

Nothing here logs an address, a name or a letter: notices are named by id.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import pii
from incidents.affected.campaigns import campaign_texts
from incidents.affected.letters import digest, letter
from incidents.models import Notice, NoticeCampaign, NoticeChannel
from notifier.privacy import scrub
from notifier.transports.base import OutgoingNotice

log = logging.getLogger(__name__)
WINDOW = dt.timedelta(minutes=1)
# The minute's attempts are spread over it: any BURST holds at most its share of the rate
# (rounded up), so a provider sees a steady stream, not the whole minute in its first second.
BURST = dt.timedelta(seconds=2)
# pg_advisory_xact_lock keys, one per channel: "notice" in ASCII, then the channel.
_RATE_LOCK = {"email": 0x6E6F7469636501, "sms": 0x6E6F7469636502}


def rate_per_minute(channel: str) -> int:
    if channel == NoticeChannel.EMAIL:
        return settings.EMAIL_RATE_PER_MINUTE
    return settings.SMS_RATE_PER_MINUTE


def claim_notices(
    channel: str, limit: int, *, lease_seconds: float, now: dt.datetime | None = None
) -> list[OutgoingNotice]:
    """Claim up to ``limit`` due notices of campaigns being sent on ``channel``, no more than
    the rate leaves for this minute, and build each one's message. A notice that cannot be
    built (its person purged, an unreadable row) is dead at once and not returned."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        _take_turn(channel)
        room = min(limit, _room(channel, now))
        if room <= 0:
            return []
        due = Notice.objects.due(now).filter(
            channel=channel, campaign__state=NoticeCampaign.SENDING
        )
        ids = due.order_by("next_attempt_at", "id").values_list("id", flat=True)
        if connection.vendor == "postgresql":
            ids = ids.select_for_update(skip_locked=True, of=("self",))
        picked = list(ids[:room])
        # The WHERE of this UPDATE re-checks "due", so only one claimer wins a row.
        Notice.objects.due(now).filter(id__in=picked).update(
            claim_token=token,
            claimed_until=now + dt.timedelta(seconds=lease_seconds),
            attempted_at=now,
        )
    claimed = list(
        Notice.objects.filter(claim_token=token)
        .select_related("person")
        .order_by("next_attempt_at", "id")
    )
    # Each campaign (its texts are the biggest part of a row) read once, not once per notice.
    campaigns = NoticeCampaign.objects.select_related("incident").in_bulk(
        {notice.campaign_id for notice in claimed}
    )
    built = (_built(notice, campaigns[notice.campaign_id]) for notice in claimed)
    return [out for out in built if out is not None]


def _room(channel: str, now: dt.datetime) -> int:
    """How many more attempts the rate allows now: what is left of the last minute's, and of
    the last BURST's share of it."""
    rate = rate_per_minute(channel)
    share = math.ceil(rate * BURST / WINDOW)
    tried = Notice.objects.filter(channel=channel, attempted_at__gt=now - WINDOW)
    in_minute = tried.count()
    if in_minute >= rate:
        return 0
    in_burst = tried.filter(attempted_at__gt=now - BURST).count() if in_minute else 0
    return min(rate - in_minute, share - in_burst)


def rate_opens_in(channel: str, now: dt.datetime | None = None) -> float:
    """Seconds until the rate lets the channel's next attempt go (0: it would now). A worker
    the rate holds back wakes then, not at its next poll: a poll of half a second against a
    two-second share would cost a quarter of the rate."""
    now = now or timezone.now()
    rate = rate_per_minute(channel)
    waits = [0.0]
    for width, limit in ((WINDOW, rate), (BURST, math.ceil(rate * BURST / WINDOW))):
        tried = Notice.objects.filter(channel=channel, attempted_at__gt=now - width)
        over = tried.count() - limit
        if over >= 0:  # the window is full until its (over + 1)-th oldest attempt leaves it
            oldest = tried.order_by("attempted_at").values_list("attempted_at", flat=True)[over]
            waits.append((oldest + width - now).total_seconds())
    return max(waits)


def _take_turn(channel: str) -> None:
    """Claimers of one channel count and claim one at a time (call inside atomic())."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_RATE_LOCK[channel]])


def _built(notice: Notice, campaign: NoticeCampaign) -> OutgoingNotice | None:
    """The message of a claimed notice: its campaign's texts for its person, to the person's
    address on its channel. None, and the notice dead, when that cannot be."""
    person = notice.person
    try:
        if person.purged_at is not None:
            raise LookupError("the person's contact data was purged")
        contact = pii.unseal(person.sealed)
        to = contact.get("email" if notice.channel == NoticeChannel.EMAIL else "mobile") or ""
        if not to:
            raise LookupError(f"no {notice.channel} address on record")
        texts = campaign_texts(campaign)
        made = letter(texts, campaign.incident, person.language, contact.get("name", ""))
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LookupError) else type(exc).__name__
        log.error("notice %s could not be built (%s): dead", notice.pk, reason)
        record_answer(
            Notice.objects.all(),
            notice.pk,
            notice.claim_token,
            status=Notice.DEAD,
            attempts=notice.attempts,
            next_at=timezone.now(),
            error=f"could not build the message: {reason}",
        )
        return None
    sms = notice.channel == NoticeChannel.SMS
    return OutgoingNotice(
        id=notice.pk,
        channel=notice.channel,
        claim_token=notice.claim_token,
        attempts=notice.attempts,
        language=person.language,
        digest=digest(notice.channel, made),
        to=to,
        subject="" if sms else made.subject,
        text=made.sms if sms else made.text,
        html="" if sms else made.html,
    )


def record_notice_sent(out: OutgoingNotice, now: dt.datetime | None = None) -> None:
    """The transport took it: sent, with the digest of what was sent."""
    Notice.objects.filter(id=out.id).exclude(status=Notice.SENT).update(
        status=Notice.SENT,
        sent_at=now or timezone.now(),
        attempts=out.attempts + 1,
        claimed_until=None,
        last_error="",
        digest=out.digest,
    )


def notice_backoff(attempts: int) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped."""
    ceiling = min(
        settings.NOTICE_RETRY_MAX_SECONDS,
        settings.NOTICE_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def record_notice_failure(
    out: OutgoingNotice, message: str, *, permanent: bool, retry_after: float | None = None
) -> str:
    """Decide retry (after ``retry_after`` or the backoff) or dead letter; the new status."""
    attempts = out.attempts + 1
    now = timezone.now()
    if permanent or attempts >= settings.NOTICE_MAX_ATTEMPTS:
        status, next_at = Notice.DEAD, now
    else:
        wait = retry_after if retry_after is not None else notice_backoff(attempts)
        status, next_at = Notice.FAILED, now + dt.timedelta(seconds=wait)
    record_answer(
        Notice.objects.all(),
        out.id,
        out.claim_token,
        status=status,
        attempts=attempts,
        next_at=next_at,
        error=message,
    )
    log.warning("notice %s (%s): attempt %s failed -> %s", out.id, out.channel, attempts, status)
    return status


def record_answer(
    rows: QuerySet,
    pk: int,
    token: str,
    *,
    status: str,
    attempts: int,
    next_at: dt.datetime,
    error: str,
    **also: Any,
) -> None:
    """A failed or dead answer of one claimed outbox row of ``rows`` (notices here; the public
    check's code messages, notifier/check_codes.py), with ``also`` set beside it. Only while
    our claim stands: if it expired and another worker sent the row meanwhile, its "sent" must
    not become "failed" (that would send it once more); and a row made dead stays dead."""
    rows.filter(id=pk, claim_token=token).exclude(status__in=(Notice.SENT, Notice.DEAD)).update(
        status=status,
        attempts=attempts,
        next_attempt_at=next_at,
        claimed_until=None,
        last_error=scrub(error)[:2000],
        **also,
    )


def release(outs: list[OutgoingNotice], rows: QuerySet | None = None) -> None:
    """Give back claimed rows of ``rows`` (notices unless said) that were never handed to a
    transport (the worker stops): due again at once for any worker, their attempt not
    counted."""
    rows = Notice.objects.all() if rows is None else rows
    for out in outs:
        rows.filter(id=out.id, claim_token=out.claim_token).exclude(status=Notice.SENT).update(
            claimed_until=None, attempted_at=None
        )
