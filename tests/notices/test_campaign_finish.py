"""Sending a campaign to its end: planned in batches, never twice to one person, stopped by a
cancel, finished when nothing is left, and counted towards the legal obligation to tell the
people affected (GDPR art. 34), or waived when legal decided no notice is required."""

from __future__ import annotations

import logging

import pytest

from incidents.affected.campaigns import approve_campaign, cancel_campaign, draft_campaign
from incidents.affected.sending import advance_campaigns, plan_batch
from incidents.errors import RequirementsMissing, RoleForbidden
from incidents.legal.obligations import waive_subject_notice
from incidents.models import Event, Notice, NoticeCampaign, Obligation
from tests.notices.conftest import add_people, approved_campaign, send_notices
from tests.notices.servers import SmtpServer

pytestmark = pytest.mark.usefixtures("notice_settings")


def subject_notice(incident) -> Obligation:
    return Obligation.objects.get(
        incident=incident, rule__code="GDPR-34", step_key="notify_subjects"
    )


def finished(campaign: NoticeCampaign) -> bool:
    campaign.refresh_from_db()
    return campaign.state == NoticeCampaign.FINISHED


def test_a_finished_campaign_fulfils_the_subject_notice_obligation_citing_it(
    breach, users, legal2, smtp, sms_gateway
):
    assert subject_notice(breach).state == Obligation.OPEN
    campaign = approved_campaign(breach, users["legal"], legal2)
    send_notices(until=lambda: finished(campaign))
    assert finished(campaign) and campaign.started_at <= campaign.finished_at
    obligation = subject_notice(breach)
    assert obligation.state == Obligation.FULFILLED and obligation.decided_by == legal2
    # in the deployment's language (Persian): the campaign's number, and 3 people told
    assert f" {campaign.pk} " in obligation.note and "۳" in obligation.note
    kinds = list(breach.events.order_by("seq").values_list("kind", flat=True))
    assert kinds[-3:] == ["campaign.start_sending", "campaign.finish", "obligation.fulfil"]
    finish = breach.events.get(kind="campaign.finish")
    assert finish.data["campaign"]["id"] == campaign.pk
    assert finish.data["campaign"]["counts"]["sent"] == 3
    assert finish.data["campaign"]["counts"]["by_channel"]["sms"]["sent"] == 1
    fulfil = breach.events.get(kind="obligation.fulfil")
    assert fulfil.data["obligation"]["rule"] == "GDPR-34"
    assert fulfil.data["note"] == obligation.note
    # the supervisory authority's deadline is another matter
    assert breach.obligations.get(rule__code="GDPR-33").state == Obligation.OPEN


def test_a_campaign_that_reached_nobody_leaves_the_obligation_open(
    breach, users, legal2, notice_settings, sms_gateway, caplog
):
    sms_gateway.answer("400")
    with SmtpServer() as server:
        server.mailbox.refuse = {"ali@example.com", "sara@example.org"}
        notice_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        notice_settings.EMAIL_HOST, notice_settings.EMAIL_PORT = "127.0.0.1", server.port
        notice_settings.EMAIL_USE_TLS = False
        campaign = approved_campaign(breach, users["legal"], legal2)
        with caplog.at_level(logging.WARNING, logger="incidents.affected.sending"):
            send_notices(until=lambda: finished(campaign))
    assert finished(campaign) and set(campaign.notices.values_list("status", flat=True)) == {"dead"}
    assert subject_notice(breach).state == Obligation.OPEN
    assert f"campaign {campaign.pk} finished without one notice sent" in caplog.text


def test_the_not_required_waiver_waives_the_obligation_with_its_reason(breach, users):
    events = waive_subject_notice(breach, actor=users["legal"], reason="Data was encrypted.")
    obligation = subject_notice(breach)
    assert obligation.state == Obligation.WAIVED and obligation.note == "Data was encrypted."
    assert obligation.decided_by == users["legal"]
    assert [e.kind for e in events] == ["obligation.waive"]
    assert waive_subject_notice(breach, actor=users["legal"], reason="again") == []
    with pytest.raises(RoleForbidden):
        waive_subject_notice(breach, actor=users["engineer"], reason="x")


def test_nobody_is_told_twice(breach, users, legal2, smtp, sms_gateway):
    first = approved_campaign(breach, users["legal"], legal2)
    send_notices(until=lambda: finished(first))
    second, _ = draft_campaign(breach, actor=users["legal"])
    with pytest.raises(RequirementsMissing):  # everybody has been told
        approve_campaign(second, actor=legal2)
    add_people(breach, users["legal"], [("C-4", "Reza", "reza@example.com", "", "fa")])
    approve_campaign(second, actor=legal2)
    send_notices(until=lambda: finished(second))
    assert list(second.notices.values_list("person__customer_hash", flat=True)).__len__() == 1
    assert smtp.mailbox.count() == 3 and len(smtp.mailbox.to("reza@example.com")) == 1
    assert len(smtp.mailbox.to("ali@example.com")) == 1


def test_planning_goes_in_batches_and_takes_people_added_meanwhile(breach, users, legal2):
    campaign = approved_campaign(breach, users["legal"], legal2)
    assert advance_campaigns(limit=2) == 2
    campaign.refresh_from_db()
    assert campaign.state == NoticeCampaign.SENDING and campaign.notices.count() == 2
    first_two = max(campaign.notices.values_list("person_id", flat=True))
    assert (
        campaign.planned_through == first_two and campaign.version == 3
    )  # drafted, approved, started
    add_people(breach, users["legal"], [("C-4", "Reza", "reza@example.com", "", "fa")])
    assert plan_batch(campaign, limit=2) == 2
    assert plan_batch(NoticeCampaign.objects.get(pk=campaign.pk), limit=2) == 0
    channels = dict(campaign.notices.values_list("person__language", "channel").order_by("id")[:1])
    assert campaign.notices.count() == 4 and channels
    assert set(campaign.notices.filter(channel="sms").values_list("person_id", flat=True)) == set(
        breach.affected_people.filter(has_email=False).values_list("id", flat=True)
    )


def test_cancelling_while_sending_stops_the_rest(breach, users, legal2):
    campaign = approved_campaign(breach, users["legal"], legal2)
    advance_campaigns()
    campaign, _ = cancel_campaign(campaign, actor=users["legal"], reason="Wrong date in the text.")
    assert campaign.state == NoticeCampaign.CANCELLED
    notices = campaign.notices.all()
    assert notices.count() == 3 and {n.status for n in notices} == {Notice.DEAD}
    assert {n.last_error for n in notices} == {"campaign cancelled"}
    cancel = Event.objects.get(kind="campaign.cancel")
    assert cancel.data["reason"] == "Wrong date in the text."
    assert cancel.data["campaign"]["counts"]["dead"] == 3
    assert advance_campaigns() == 0 and subject_notice(breach).state == Obligation.OPEN
    # the people it never reached are for the next campaign
    again, _ = draft_campaign(breach, actor=users["legal"])
    approve_campaign(again, actor=legal2)
    assert advance_campaigns() == 3
