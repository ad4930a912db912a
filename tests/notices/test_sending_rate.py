"""The sending rate (EMAIL_RATE_PER_MINUTE, SMS_RATE_PER_MINUTE): no minute sees more attempts
than the rate, and no two seconds more than their share of it, whichever worker makes them. The
claims are given the time ("now"), so the minutes pass without anyone sleeping."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from incidents.affected.notice_templates import seed_notice_templates
from incidents.affected.sending import advance_campaigns
from incidents.legal.obligations import seed_rules
from incidents.models import Notice
from notifier.notices import claim_notices, rate_opens_in, record_notice_sent
from notifier.transports.botapi import LogOnlyTransport
from notifier.worker import Worker
from tests.notices.conftest import add_people, approved_campaign, send_notices

LEASE = 600.0


def twelve_people(incident, actor) -> None:
    add_people(
        incident,
        actor,
        [(f"C-{n}", f"Person {n}", f"p{n}@example.com", "", "en") for n in range(12)],
    )


def windows(moments: list[dt.datetime], width: float) -> int:
    """The most moments in any window of ``width`` seconds."""
    span = dt.timedelta(seconds=width)
    return max(sum(1 for m in moments if start <= m < start + span) for start in moments)


def test_no_minute_sees_more_attempts_than_the_rate(users, legal2, incident_in, notice_settings):
    notice_settings.EMAIL_RATE_PER_MINUTE = 5
    incident = incident_in("restoring")
    twelve_people(incident, users["legal"])
    approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    t0, claimed_at = timezone.now(), {}
    for tick in range(0, 400):  # a worker claiming every half second for 200 seconds
        now = t0 + dt.timedelta(seconds=tick / 2)
        for out in claim_notices("email", 50, lease_seconds=LEASE, now=now):
            claimed_at[out.id] = now
            record_notice_sent(out, now=now)
    assert len(claimed_at) == 12  # all of them, in the end
    moments = sorted(claimed_at.values())
    assert windows(moments, 60) == 5  # the rate, and never more
    assert windows(moments, 2) == 1  # spread: 5 a minute is at most one in any two seconds
    assert moments[4] - moments[0] < dt.timedelta(seconds=60) <= moments[5] - moments[0]
    assert sorted(Notice.objects.values_list("attempted_at", flat=True)) == moments


def test_a_minutes_attempts_are_spread_over_it(users, legal2, incident_in, notice_settings):
    notice_settings.EMAIL_RATE_PER_MINUTE = 300  # five a second: ten in any two seconds
    incident = incident_in("restoring")
    add_people(
        incident,
        users["legal"],
        [(f"C-{n}", "", f"p{n}@example.com", "", "en") for n in range(40)],
    )
    approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    now = timezone.now()
    assert len(claim_notices("email", 50, lease_seconds=LEASE, now=now)) == 10
    assert claim_notices("email", 50, lease_seconds=LEASE, now=now + dt.timedelta(seconds=1)) == []
    later = now + dt.timedelta(seconds=2.01)
    assert len(claim_notices("email", 50, lease_seconds=LEASE, now=later)) == 10


def test_each_channel_has_its_own_rate(users, legal2, incident_in, notice_settings):
    notice_settings.EMAIL_RATE_PER_MINUTE = 1
    notice_settings.SMS_RATE_PER_MINUTE = 2
    incident = incident_in("restoring")
    people = [(f"E-{n}", "", f"e{n}@example.com", "", "fa") for n in range(3)]
    people += [(f"S-{n}", "", "", f"0912000000{n}", "fa") for n in range(3)]
    add_people(incident, users["legal"], people)
    approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    now = timezone.now()

    def claimed(channel: str, seconds: float) -> int:
        at = now + dt.timedelta(seconds=seconds)
        return len(claim_notices(channel, 50, lease_seconds=LEASE, now=at))

    assert claimed("email", 0) == 1 and claimed("email", 3) == 0
    assert claimed("sms", 0) == 1 and claimed("sms", 3) == 1 and claimed("sms", 6) == 0


def test_the_worker_sends_no_more_than_the_rate(users, legal2, incident_in, notice_settings, smtp):
    notice_settings.EMAIL_RATE_PER_MINUTE = 90  # three in any two seconds
    incident = incident_in("restoring")
    twelve_people(incident, users["legal"])
    campaign = approved_campaign(incident, users["legal"], legal2)
    send_notices()  # until nothing more may go now
    assert smtp.mailbox.count() == 3
    assert campaign.notices.filter(status=Notice.SENT).count() == 3
    assert campaign.notices.filter(status=Notice.QUEUED).count() == 9  # for the next seconds


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_share_one_rate(users, legal2, incident_in, notice_settings):
    seed_rules()
    seed_notice_templates()
    notice_settings.EMAIL_RATE_PER_MINUTE = 210  # seven in any two seconds
    incident = incident_in("restoring")
    add_people(
        incident,
        users["legal"],
        [(f"C-{n}", "", f"p{n}@example.com", "", "en") for n in range(40)],
    )
    approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    now, claimed, start = timezone.now(), [], threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            claimed.extend(claim_notices("email", 20, lease_seconds=LEASE, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(claimed) == 7 and len({out.id for out in claimed}) == 7


def test_the_worker_knows_when_the_rate_opens_again(users, legal2, incident_in, notice_settings):
    notice_settings.EMAIL_RATE_PER_MINUTE = 5  # one in any two seconds
    incident = incident_in("restoring")
    twelve_people(incident, users["legal"])
    approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    t0 = timezone.now()

    def at(seconds: float) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds)

    assert rate_opens_in("email", at(0)) == 0
    for second in (0, 2, 4, 6, 8):
        (out,) = claim_notices("email", 50, lease_seconds=LEASE, now=at(second))
        record_notice_sent(out, now=at(second))
    assert rate_opens_in("email", at(8.5)) == pytest.approx(51.5)  # the minute's five are spent
    assert claim_notices("email", 50, lease_seconds=LEASE, now=at(60.01))
    assert rate_opens_in("email", at(60.5)) == pytest.approx(1.51)  # the two seconds' one is


@pytest.mark.django_db(transaction=True)
def test_a_worker_held_back_by_the_rate_goes_on_when_it_opens(users, legal2, incident_in, smtp):
    """No event wakes a worker when the rate opens again: it must not sleep its whole idle wait
    (the poll on SQLite; up to a second of LISTEN on PostgreSQL) while notices are held back."""
    seed_rules()
    seed_notice_templates()
    from django.conf import settings

    settings.EMAIL_RATE_PER_MINUTE = 60  # two in any two seconds (the fixture set EMAIL_*)
    settings.NOTIFIER_POLL_SECONDS = 3.0  # an idle wait longer than the rate's gaps
    incident = incident_in("restoring")
    twelve_people(incident, users["legal"])
    approved_campaign(incident, users["legal"], legal2)
    worker = Worker(LogOnlyTransport())

    def run() -> None:
        try:
            worker.run()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(4.6)
    finally:
        worker.stop.set()
        thread.join(15)
    assert 5 <= smtp.mailbox.count() <= 6  # 2 at once, then 2 every 2 s
