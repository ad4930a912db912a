"""`make run` without EMAIL_HOST or SMS_GATEWAY_URL: the real worker writes the mails to
var/mail/ (Django's file backend) and the SMS to var/sms/, and says so once; production without
them keeps the notices queued."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from incidents.affected.notice_templates import seed_notice_templates
from incidents.legal.obligations import seed_rules
from incidents.models import Notice, NoticeCampaign
from tests.notices.conftest import add_people, approved_campaign
from tests.notifier.test_worker_process import ROOT, database_url


def run_worker_once(var: Path, **extra: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "SMS_", "DEFAULT_FROM_EMAIL", "TELEGRAM_"))
    }
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="tests.settings",
        BREACH_DESK_VAR_DIR=str(var),
        NOTIFIER_POLL_SECONDS="0.05",
        **extra,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "run_notifier", "--until-idle", "--max-seconds", "60"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_make_run_writes_mails_to_var_mail_and_sms_to_var_sms(users, incident_in, tmp_path):
    seed_rules()
    seed_notice_templates()
    incident = incident_in("restoring")
    add_people(
        incident,
        users["legal"],
        [
            ("C-1", "Sara Ahmadi", "sara@example.org", "", "en"),
            ("C-2", "علی رضایی", "", "09121234567", "fa"),
        ],
    )
    campaign = approved_campaign(incident, users["legal"], users["admin"])
    output = run_worker_once(tmp_path, DJANGO_DEBUG="1")
    mails = list((tmp_path / "mail").iterdir())
    assert len(mails) == 1  # one file per worker run, as Django's file backend writes them
    mail = mails[0].read_text()
    assert "To: sara@example.org" in mail and "Dear Sara Ahmadi," in mail
    sms = "".join(p.read_text() for p in (tmp_path / "sms").iterdir())
    assert "To: +989121234567" in sms and "یک رویداد امنیتی" in sms
    assert output.count("notices by email are written to") == 1, output
    assert output.count("SMS notices are written to") == 1, output
    statuses = set(Notice.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {Notice.SENT}
    # One bounded run also finishes the campaign: it looks at the campaigns once more before
    # it exits, instead of leaving it "sending" with every notice answered.
    campaign.refresh_from_db()
    assert campaign.state == NoticeCampaign.FINISHED
    # and the log never names them
    assert "sara@example.org" not in output and "9121234567" not in output


@pytest.mark.django_db(transaction=True)
def test_production_without_email_host_keeps_the_notices_queued(users, incident_in, tmp_path):
    seed_rules()
    seed_notice_templates()
    incident = incident_in("restoring")
    add_people(incident, users["legal"], [("C-1", "Sara", "sara@example.org", "", "en")])
    campaign = approved_campaign(incident, users["legal"], users["admin"])
    output = run_worker_once(tmp_path, DJANGO_DEBUG="0")
    assert "EMAIL_HOST is not set: email notices wait" in output
    assert not (tmp_path / "mail").exists()
    notice = Notice.objects.get(campaign=campaign)
    assert notice.status == Notice.QUEUED and notice.attempts == 0
    assert NoticeCampaign.objects.get(pk=campaign.pk).state == NoticeCampaign.SENDING
