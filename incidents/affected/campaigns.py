"""Notice campaigns (issue 18): legal drafts a notice for an incident's affected people, previews
it, a second person approves it (four eyes), the notifier worker sends it
(incidents/affected/sending.py plans and finishes it), and a finished campaign counts towards
the legal obligation to tell the data subjects.

Every change goes through the one runner (``CAMPAIGN``, incidents/machines.py) or, for the
draft, ``changing`` + ``append_event``; events carry ids, counts and digests, never a person's
data. The campaign's own lifecycle (sources, targets, who) is on the model
(incidents/models/notices.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.roles import ADMIN, LEGAL, has_any_role
from incidents.affected.letters import (
    BODY_MAX,
    LANGUAGES,
    SMS_MAX,
    SUBJECT_MAX,
    check_source,
    letter,
    sample_name,
)
from incidents.affected.notice_templates import texts_from_templates
from incidents.affected.register import open_people
from incidents.changing import changing
from incidents.errors import InvalidChange, RequirementsMissing, RoleForbidden
from incidents.events import append_event
from incidents.machines import REMARK, Key, Machine, Step
from incidents.models import (
    AffectedPerson,
    Event,
    Incident,
    Notice,
    NoticeCampaign,
    NoticeChannel,
)

# The texts a campaign is written in, each {"fa": ..., "en": ...}, and their limits.
TEXT_LIMITS = {"subject": SUBJECT_MAX, "body": BODY_MAX, "sms": SMS_MAX}
STATUSES = tuple(status for status, _label in Notice.STATUSES)
CHANNELS = tuple(NoticeChannel.values)


class CampaignBusy(DomainError):
    """Another campaign of the same incident is approved or being sent: two at once would tell
    the same people twice."""

    status = 409


def may_write_notices(user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_write_notices(actor: Any) -> None:
    """RoleForbidden unless the actor drafts, previews and cancels notices (legal, admins)."""
    if not may_write_notices(actor):
        raise RoleForbidden(_("Only legal and admins write notices to the people affected."))


def to_notify(incident_id: int | OuterRef) -> QuerySet:
    """The incident's people a campaign still has to tell: contact data held, an email or a
    mobile, and no notice of an earlier campaign sent to them. Oldest first. (``incident_id``
    may be an ``OuterRef``: ``with_left_to_plan`` counts it per campaign.)"""
    told = Notice.objects.filter(person=OuterRef("pk"), status=Notice.SENT)
    return (
        AffectedPerson.objects.present()
        .filter(incident_id=incident_id)
        .filter(Q(has_email=True) | Q(has_mobile=True))
        .exclude(Exists(told))
        .order_by("id")
    )


def with_left_to_plan(campaigns: QuerySet) -> QuerySet:
    """``campaigns``, each annotated ``left_to_plan``: for a draft, the people it would tell if
    it were approved now; for one approved or being sent, the people the worker has still to
    plan (``to_notify`` past its ``planned_through``: the progress a page shows is against them
    too, not only the batches planned so far); 0 once finished or cancelled. A correlated
    count inside the one query, however many campaigns."""
    people = (
        to_notify(OuterRef("incident_id"))
        .filter(pk__gt=OuterRef("planned_through"))
        .order_by()
        .values("incident_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    unfinished = (NoticeCampaign.DRAFT, NoticeCampaign.APPROVED, NoticeCampaign.SENDING)
    return campaigns.annotate(
        left_to_plan=Case(
            When(state__in=unfinished, then=Coalesce(Subquery(people), 0)), default=Value(0)
        )
    )


def _check(incident: Incident, campaign: NoticeCampaign, name: str, payload: dict) -> None:
    if name != "approve":
        return
    busy = NoticeCampaign.objects.in_flight().filter(incident=incident).exclude(pk=campaign.pk)
    if busy.exists():
        raise CampaignBusy(
            _("Another notice campaign of this incident is being sent; cancel it or wait.")
        )
    if not to_notify(incident.pk).exists():
        raise RequirementsMissing(
            ["affected_people"],
            _("The register holds nobody left to notify: add the people affected first."),
        )


def _prepare(
    incident: Incident, campaign: NoticeCampaign, name: str, payload: dict, actor: Any
) -> None:
    if name == "cancel":
        # What was not sent never will be: dead, and said why (a send already under way that
        # succeeds is still recorded as sent).
        Notice.objects.filter(campaign=campaign).unsent().update(
            status=Notice.DEAD, claimed_until=None, last_error="campaign cancelled"
        )


def _call_args(campaign: NoticeCampaign, name: str, actor: Any, payload: dict) -> dict:
    now = timezone.now()
    if name == "approve":
        return {"by": actor, "at": now}
    if name == "cancel":
        return {"reason": payload["reason"], "at": now}
    return {"at": now}


def _describe(campaign: NoticeCampaign) -> dict[str, Any]:
    described: dict[str, Any] = {"id": campaign.pk}
    if campaign.state in (NoticeCampaign.FINISHED, NoticeCampaign.CANCELLED):
        counts = tally([campaign.pk])[campaign.pk]
        described["counts"] = {k: counts[k] for k in ("planned", *STATUSES, "by_channel")}
    return described


# A campaign's lifecycle: approve (a second legal user or an admin), start_sending and finish
# (the notifier worker), cancel (legal, admins; also while sending).
CAMPAIGN = Machine(
    model=NoticeCampaign,
    kind="campaign",
    steps=(
        Step("approve", ("note",)),
        Step("start_sending"),
        Step("finish"),
        Step("cancel", ("reason", "note"), requires=("reason",)),
    ),
    keys=(REMARK, Key.text_of(NoticeCampaign, "cancelled_reason", "reason")),
    check=_check,
    prepare=_prepare,
    call_args=_call_args,
    describe=_describe,
)


def check_texts(texts: dict[str, Any]) -> None:
    """InvalidChange unless every text is given in every language, within its limit, and a
    template the sandbox compiles and renders (incidents/affected/letters.py)."""
    for part, limit in TEXT_LIMITS.items():
        given = texts.get(part)
        if not isinstance(given, dict) or set(given) != set(LANGUAGES):
            message = _("Give the text in each language: %(languages)s.")
            raise InvalidChange({part: [message % {"languages": ", ".join(LANGUAGES)}]})
        for language, source in given.items():
            field = f"{part}.{language}"
            if not isinstance(source, str) or not source.strip():
                raise InvalidChange({field: [_("This text may not be empty.")]})
            if len(source) > limit:
                message = _("At most %(max)d characters.") % {"max": limit}
                raise InvalidChange({field: [message]})
            check_source(source, field)
    for language, blocks in texts["advice"].items():
        for block in blocks:
            check_source(block["text"], f"advice.{block['category']}.{language}")


def texts_digest(texts: dict[str, Any]) -> str:
    """SHA-256 of a campaign's texts (canonical JSON): the event of the draft records what was
    written, so the record shows if the stored texts were ever changed."""
    canonical = json.dumps(texts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def campaign_texts(campaign: NoticeCampaign) -> dict[str, Any]:
    return {
        "subject": campaign.subject,
        "body": campaign.body,
        "sms": campaign.sms,
        "advice": campaign.advice,
    }


def draft_campaign(
    incident: Incident, *, actor: Any, texts: dict[str, Any] | None = None
) -> tuple[NoticeCampaign, Event]:
    """A new draft for the incident. Without ``texts`` the letter and SMS are the templates';
    ``texts`` may give ``subject`` and ``body`` (and ``sms``), each {"fa", "en"}. Either way the
    advice of each leaked data category is copied from the templates, for ``{{ advice }}``."""
    ensure_may_write_notices(actor)
    given = {k: v for k, v in (texts or {}).items() if v is not None}
    unknown = sorted(set(given) - set(TEXT_LIMITS))
    if unknown:
        raise InvalidChange({key: [_("Not a text of a notice.")] for key in unknown})
    with changing(incident) as locked:
        chosen = texts_from_templates(locked, letter=not {"subject", "body"} & set(given))
        chosen.update(given)
        check_texts(chosen)
        campaign = NoticeCampaign.objects.create(incident=locked, drafted_by=actor, **chosen)
        data = {
            "campaign": {"id": campaign.pk},
            "source": "texts" if given else "templates",
            "advice": [block["category"] for block in chosen["advice"].get(LANGUAGES[0], [])],
            "sha256": texts_digest(chosen),
        }
        event = append_event(locked, "campaign.drafted", actor=actor, data=data)
    return campaign, event


def approve_campaign(
    campaign: NoticeCampaign, *, actor: Any, note: str = "", expected_version: int | None = None
) -> tuple[NoticeCampaign, Event]:
    """Four eyes: a legal user or an admin who did not draft it. The worker starts sending."""
    ensure_may_write_notices(actor)
    if campaign.drafted_by_id == actor.pk:
        raise RoleForbidden(
            _("You drafted this notice: a second legal user or an admin must approve it.")
        )
    return CAMPAIGN.run(
        campaign, "approve", actor=actor, payload={"note": note}, expected_version=expected_version
    )


def cancel_campaign(
    campaign: NoticeCampaign,
    *,
    actor: Any,
    reason: str,
    note: str = "",
    expected_version: int | None = None,
) -> tuple[NoticeCampaign, Event]:
    """Stop a draft, an approved campaign or one being sent: notices already sent stay sent;
    the worker claims none of the rest."""
    ensure_may_write_notices(actor)
    return CAMPAIGN.run(
        campaign,
        "cancel",
        actor=actor,
        payload={"reason": reason, "note": note},
        expected_version=expected_version,
    )


@dataclass(frozen=True)
class Preview:
    """A campaign's letter for one reader: the first person of that language in the register,
    or (``person`` None) a made-up one."""

    language: str
    person: int | None
    subject: str
    text: str
    html: str
    sms: str


def preview(campaign: NoticeCampaign, language: str) -> Preview:
    """The letter as the register's first reader of ``language`` receives it. Reads (and
    unseals) one person: the caller records the read (incidents/need_to_know.py).
    RegisterUnreadable when no configured key opens that person's row."""
    ensure_language(language)
    person = (
        AffectedPerson.objects.present()
        .filter(incident_id=campaign.incident_id, language=language)
        .order_by("id")
        .first()
    )
    name = open_people([person])[0].contact["name"] if person else sample_name(language)
    made = letter(campaign_texts(campaign), campaign.incident, language, name)
    return Preview(
        language, person.pk if person else None, made.subject, made.text, made.html, made.sms
    )


def ensure_language(language: str) -> None:
    if language not in LANGUAGES:
        message = _("Choose one of: %(languages)s.") % {"languages": ", ".join(LANGUAGES)}
        raise InvalidChange({"lang": [message]})


def _empty_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {"planned": 0, **dict.fromkeys(STATUSES, 0)}
    counts["by_channel"] = {channel: dict.fromkeys(STATUSES, 0) for channel in CHANNELS}
    counts["first_sent_at"] = counts["last_sent_at"] = None
    return counts


def tally(campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each campaign's notices counted per status and per channel, and its first and last sent
    time: one GROUP BY query for any number of campaigns."""
    result = {pk: _empty_counts() for pk in campaign_ids}
    if not campaign_ids:  # the dashboard's usual case: no query to build
        return result
    for row in Notice.objects.filter(campaign_id__in=campaign_ids).tally():
        counts = result[row["campaign_id"]]
        counts["planned"] += row["count"]
        counts[row["status"]] += row["count"]
        counts["by_channel"][row["channel"]][row["status"]] += row["count"]
        for key, pick in (("first_sent_at", min), ("last_sent_at", max)):
            if row[key] is not None:
                counts[key] = row[key] if counts[key] is None else pick(counts[key], row[key])
    return result
