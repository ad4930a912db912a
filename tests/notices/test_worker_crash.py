"""A worker that dies mid-campaign loses nothing and sends each notice it had in flight at most
once more (docs/notifications.md, "Sending"): the send happens outside any transaction, so a
notice the server took but whose answer was never recorded goes again once its claim expires."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest
from django.utils import timezone

from incidents.affected.notice_templates import seed_notice_templates
from incidents.affected.sending import advance_campaigns
from incidents.legal.obligations import seed_rules
from incidents.models import Notice, NoticeCampaign
from notifier.notice_sending import NoticeSending
from notifier.notices import claim_notices, record_notice_sent
from notifier.transports.email import EmailTransport
from tests.notices.conftest import add_people, approved_campaign
from tests.notices.servers import Mailbox, SmtpServer
from tests.notifier.test_worker_process import ROOT, database_url, wait_for

LEASE = 30.0


def test_a_notice_claimed_then_lost_is_claimed_again_after_its_lease(
    users, legal2, incident_in, smtp, notice_settings
):
    incident = incident_in("restoring")
    add_people(
        incident, users["legal"], [(f"C-{n}", "", f"p{n}@example.com", "", "en") for n in range(5)]
    )
    campaign = approved_campaign(incident, users["legal"], legal2)
    advance_campaigns()
    t0 = timezone.now()
    crashed = claim_notices("email", 2, lease_seconds=LEASE, now=t0)
    transport = EmailTransport()
    for out in crashed:
        transport.send(out)  # the server took them; the worker died before recording it
    transport.close()
    # another worker, meanwhile: the three others, never the two still leased
    meanwhile = claim_notices("email", 50, lease_seconds=LEASE, now=t0 + dt.timedelta(seconds=1))
    assert {o.id for o in meanwhile}.isdisjoint({o.id for o in crashed}) and len(meanwhile) == 3
    for out in meanwhile:
        transport.send(out)
        record_notice_sent(out)
    later = t0 + dt.timedelta(seconds=LEASE + 1)
    again = claim_notices("email", 50, lease_seconds=LEASE, now=later)
    assert sorted(o.id for o in again) == sorted(o.id for o in crashed)
    assert all(o.attempts == 0 for o in again)
    for out in again:
        transport.send(out)
        record_notice_sent(out)
    per_person = Counter(address for _sender, to in smtp.mailbox.envelopes for address in to)
    assert sorted(per_person.values()) == [1, 1, 1, 2, 2]  # nothing lost, one duplicate each
    assert set(campaign.notices.values_list("status", flat=True)) == {Notice.SENT}


def start_worker(server: SmtpServer, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TELEGRAM_BOT_TOKEN": "",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.port),
        "EMAIL_USE_TLS": "0",
        "DEFAULT_FROM_EMAIL": "notices@shop.example",
        "EMAIL_RATE_PER_MINUTE": "100000",
        "NOTIFIER_POLL_SECONDS": "0.05",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_notifier"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_campaign_survives_the_worker_killed_mid_send(users, legal2, incident_in, notice_settings):
    seed_rules()
    seed_notice_templates()
    incident = incident_in("restoring")
    people = [(f"C-{n}", f"P {n}", f"p{n}@example.com", "", "en") for n in range(60)]
    add_people(incident, users["legal"], people)
    campaign = approved_campaign(incident, users["legal"], legal2)
    with SmtpServer(Mailbox(delay=0.05)) as server:
        # A lease of 1 + 20 x 0.25 s: claims of the killed worker free up within seconds.
        timing = {"NOTIFIER_LEASE_SECONDS": "1", "EMAIL_TIMEOUT": "0.25"}
        worker = start_worker(server, **timing)
        try:
            assert wait_for(lambda: server.mailbox.count() >= 15, 60), "no mail arrived"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        killed_at = server.mailbox.count()
        assert killed_at < 60, "the campaign finished before the kill: nothing was tested"
        in_flight = Notice.objects.filter(campaign=campaign, claimed_until__isnull=False).count()
        assert in_flight > 0  # claims the dead worker still held
        server.mailbox.delay = 0.0
        worker = start_worker(server, **timing)
        try:
            done = wait_for(lambda: campaign_finished(campaign.pk), 60)
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0]
        assert done, output
    per_person = Counter(address for _sender, to in server.mailbox.envelopes for address in to)
    assert set(per_person) == {f"p{n}@example.com" for n in range(60)}  # nothing lost
    duplicates = sum(count - 1 for count in per_person.values())
    assert max(per_person.values()) <= 2 and duplicates <= in_flight
    assert worker.returncode == 0


def campaign_finished(pk: int) -> bool:
    return NoticeCampaign.objects.get(pk=pk).state == NoticeCampaign.FINISHED


class BlockingTransport:
    """Holds each send until the test lets it go: a mail server that stopped answering."""

    channel = "email"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[int] = []

    def send(self, notice) -> None:
        self.started.append(notice.id)
        self.release.wait(10)

    def close(self) -> None:
        return None


def test_a_worker_stopping_gives_back_the_notices_it_had_not_started(
    users, legal2, incident_in, notice_settings
):
    incident = incident_in("restoring")
    add_people(
        incident, users["legal"], [(f"C-{n}", "", f"p{n}@example.com", "", "en") for n in range(3)]
    )
    campaign = approved_campaign(incident, users["legal"], legal2)
    transport = BlockingTransport()
    sending = NoticeSending({"email": transport})
    sending.start()
    try:
        assert sending.step() > 0  # the campaign planned
        sending.step()  # three claimed and handed to the channel's thread
        assert wait_for(lambda: transport.started, 5)
        sending.drain(timeout=0.2)  # SIGTERM: the first send hangs, two never started
        held = campaign.notices.filter(claimed_until__isnull=False)
        assert list(held.values_list("id", flat=True)) == transport.started
        free = campaign.notices.filter(claimed_until__isnull=True, attempted_at__isnull=True)
        assert free.count() == 2  # due again at once for any worker, their attempt not counted
    finally:
        transport.release.set()
        sending.stop()
    assert transport.started == [transport.started[0]]  # the two were never sent
