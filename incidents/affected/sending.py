"""Sending a campaign, the domain's half (issue 18): the notifier worker calls ``advance_campaigns``
to plan approved campaigns' notices in batches and to finish a campaign once nothing is left to
send; the worker's own half (claiming, sending, recording) is notifier/notices.py.

Planning writes one ``Notice`` (the outbox row) per person and moves the campaign's
``planned_through`` (the last person id planned) in the same transaction, under the incident's
lock: a crash keeps both or neither, so nobody is skipped and nobody is planned twice (the
notices are also unique per campaign and person). People added to the register while a campaign
is being sent are planned too, as long as it has not finished. Batches write no event (a
hundred thousand people would bury the timeline): the campaign's start and finish do, the
finish with its counts.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.formats import digits, moment
from incidents.affected.campaigns import CAMPAIGN, tally, to_notify
from incidents.changing import changing, record_of
from incidents.errors import RoleForbidden, StateConflict
from incidents.legal.obligations import fulfil_subject_notice
from incidents.models import Event, Incident, Notice, NoticeCampaign, NoticeChannel

log = logging.getLogger(__name__)
PLAN_BATCH = 500


def advance_campaigns(limit: int = PLAN_BATCH) -> int:
    """Start approved campaigns, plan one batch of the oldest campaign with people left to plan,
    and finish every campaign with nothing left to send. Returns how many notices were planned
    (the worker calls again at once while it is more than zero)."""
    planned = 0
    for campaign in NoticeCampaign.objects.in_flight().order_by("approved_at", "id"):
        if campaign.state == NoticeCampaign.APPROVED:
            try:
                campaign, _event = CAMPAIGN.run(campaign, "start_sending", actor=None)
            except StateConflict:
                continue  # another worker started it (or legal cancelled it) meanwhile
        if not planned:
            planned = plan_batch(campaign, limit)
            if planned:
                continue
        finish_if_done(campaign)
    return planned


def plan_batch(campaign: NoticeCampaign, limit: int = PLAN_BATCH) -> int:
    """Queue a notice for each of the next ``limit`` people to tell; how many were queued. Email
    for people with an address, SMS for the others."""
    if not _unplanned(campaign).exists():  # most calls find nothing: no lock taken for them
        return 0
    with changing(campaign.incident_id) as incident:
        campaign = record_of(incident, NoticeCampaign, campaign.pk)
        if campaign.state != NoticeCampaign.SENDING:
            return 0  # cancelled meanwhile
        people = list(_unplanned(campaign).values_list("id", "has_email")[:limit])
        if not people:
            return 0
        now = timezone.now()
        Notice.objects.bulk_create(
            [
                Notice(
                    campaign=campaign,
                    person_id=pk,
                    channel=NoticeChannel.EMAIL if has_email else NoticeChannel.SMS,
                    next_attempt_at=now,
                    created_at=now,
                )
                for pk, has_email in people
            ],
            ignore_conflicts=True,
        )
        # Not a change people act on (no version bump: an If-Match on a cancel stays good).
        NoticeCampaign.objects.filter(pk=campaign.pk).update(planned_through=people[-1][0])
    return len(people)


def _unplanned(campaign: NoticeCampaign) -> QuerySet:
    return to_notify(campaign.incident_id).filter(id__gt=campaign.planned_through)


def finish_if_done(campaign: NoticeCampaign) -> Event | None:
    """Finish a campaign being sent when every notice is sent or dead and nobody is left to
    plan, and have its finish fulfil the incident's subject-notice obligation; one transaction.
    Returns the finish event, or None when there is still work."""
    if campaign.state != NoticeCampaign.SENDING or _has_unsent(campaign):
        return None
    with changing(campaign.incident_id) as incident:
        campaign = record_of(incident, NoticeCampaign, campaign.pk)
        if campaign.state != NoticeCampaign.SENDING or _has_unsent(campaign):
            return None
        if _unplanned(campaign).exists():
            return None
        campaign, event = CAMPAIGN.run(campaign, "finish", actor=None)
        _count_towards_obligations(incident, campaign)
    return event


def _has_unsent(campaign: NoticeCampaign) -> bool:
    return Notice.objects.filter(campaign=campaign).unsent().exists()


def _count_towards_obligations(incident: Incident, campaign: NoticeCampaign) -> None:
    """A finished campaign that told somebody fulfils the subject-notice obligation, in the name
    of the person who approved it. None told, or an approver who has since lost the role: the
    obligation stays open for legal, and the log says why."""
    counts = tally([campaign.pk])[campaign.pk]
    if not counts["sent"]:
        log.warning(
            "campaign %s finished without one notice sent: obligation left open", campaign.pk
        )
        return
    try:
        with transaction.atomic():
            fulfil_subject_notice(
                incident, actor=campaign.approved_by, note=proof_note(campaign, counts)
            )
    except RoleForbidden:
        log.warning(
            "campaign %s finished, but its approver may no longer fulfil obligations: "
            "obligation left open for legal",
            campaign.pk,
        )


def proof_note(campaign: NoticeCampaign, counts: dict) -> str:
    """The obligation's note: which campaign, how many told by which channel, how many could not
    be, and when; in the deployment's language (it is a record, not a message)."""
    language = settings.LANGUAGE_CODE
    when = {"language": language, "zone": settings.TIME_ZONE}
    with translation.override(language):
        return _(
            "Notice campaign #%(id)s finished: %(sent)s people told (%(email)s by email, "
            "%(sms)s by SMS), %(dead)s could not be reached; first notice %(first)s, "
            "last %(last)s."
        ) % {
            "id": campaign.pk,  # an identifier, as written everywhere
            "sent": digits(counts["sent"], language=language),
            "email": digits(counts["by_channel"]["email"]["sent"], language=language),
            "sms": digits(counts["by_channel"]["sms"]["sent"], language=language),
            "dead": digits(counts["dead"], language=language),
            "first": moment(counts["first_sent_at"], **when),
            "last": moment(counts["last_sent_at"], **when),
        }
