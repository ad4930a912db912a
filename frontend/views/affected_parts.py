"""What the incident page shows of the people affected (issue 18): the register's counts and
legal's forms, and the notice campaigns with their progress. Legal and admins see and do it all;
executives follow the counts and the progress, read-only; other roles see neither part. Nobody's
contact data is here: the register's people are on their own page (frontend/views/register.py),
whose every read is logged.

Used by the incident page (frontend/views/workspace.py), by the fragment its live updates fetch
(frontend/views/notices.py) and, for the progress bars, by the dashboard."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import translation

from core.roles import EXECUTIVE, has_any_role
from frontend import affected_forms, charts, forms
from incidents.affected.campaigns import CAMPAIGN, may_write_notices, tally, with_left_to_plan
from incidents.affected.letters import LANGUAGES, notice_url
from incidents.affected.public_notice import with_public_notice
from incidents.affected.register import counts as register_counts
from incidents.affected.register import may_keep_register
from incidents.choices import TERMINAL_STATES, DataCategory
from incidents.machines import allowed_names
from incidents.models import Incident, NoticeCampaign, NoticeTemplate

# While a campaign is in one of these states its numbers move without an event: the page polls.
IN_FLIGHT = (NoticeCampaign.APPROVED, NoticeCampaign.SENDING)


def may_follow_notices(user: Any) -> bool:
    """Who sees the page's parts on the people affected: legal and admins (who keep them) and
    executives (counts and progress only)."""
    return may_keep_register(user) or has_any_role(user, {EXECUTIVE})


def progress_rows(campaigns: Iterable[NoticeCampaign]) -> list[dict[str, Any]]:
    """Each campaign (annotated ``left_to_plan``: ``with_left_to_plan``) with its counts and
    its progress bar; one query for all the counts."""
    campaigns = list(campaigns)
    counts = tally([c.pk for c in campaigns])
    rtl = translation.get_language_bidi()
    return [
        {
            "campaign": c,
            "counts": counts[c.pk],
            "bar": charts.progress(counts[c.pk], c.left_to_plan, rtl=rtl),
        }
        for c in campaigns
    ]


def campaigns_of(incident: Incident) -> QuerySet[NoticeCampaign]:
    related = ("drafted_by", "approved_by")
    return with_left_to_plan(incident.notice_campaigns.select_related(*related)).order_by(
        "created_at", "id"
    )


def live_part(request: Any, incident: Incident) -> dict[str, Any]:
    """The numbers that move while a campaign is sent: the register's counts and each
    campaign's progress (the fragment the page refreshes)."""
    rows = progress_rows(campaigns_of(incident))
    user = request.user
    may_write = may_write_notices(user)
    for row in rows:
        campaign = row["campaign"]
        row["actions"] = allowed_names(CAMPAIGN, campaign, user) if may_write else []
        row["form_id"] = f"campaign-{campaign.pk}"  # prefixes its fields' ids
        # Four eyes: the drafter is told why there is no Approve button for them.
        row["own_draft"] = (
            may_write
            and campaign.state == NoticeCampaign.DRAFT
            and campaign.drafted_by_id == user.pk
        )
    return {
        "people_counts": register_counts(incident),
        "campaign_rows": rows,
        "in_flight": any(r["campaign"].state in IN_FLIGHT for r in rows),
        "may_write_notices": may_write,
        "notice_languages": LANGUAGES,
    }


def affected_part(request: Any, incident: Incident) -> dict[str, Any]:
    """The incident page's context for both parts (nothing for roles that see neither; a
    form that came back refused replaces its fresh one in ``workspace``)."""
    user = request.user
    if not may_follow_notices(user):
        return {"may_follow_notices": False}
    keeps = may_keep_register(user)
    writable = incident.state not in TERMINAL_STATES
    context = {
        "may_follow_notices": True,
        "may_keep_register": keeps,
        "register_open": writable,
        **live_part(request, incident),
        "leaked": [
            DataCategory(c).label for c in incident.data_categories if c in DataCategory.values
        ],
        # The public notice page, once the incident has one: legal links to it from the site.
        "public_notice_url": (
            notice_url(incident.reference)
            if with_public_notice(Incident.objects.filter(pk=incident.pk)).exists()
            else ""
        ),
    }
    if keeps:
        context["import_form"] = affected_forms.PeopleImportForm()
        context["person_form"] = affected_forms.PersonForm(initial={"language": "fa"})
        context["campaign_action_form"] = forms.transition_form(CAMPAIGN)()
    if context["may_write_notices"]:
        context["draft_form"] = affected_forms.CampaignDraftForm(initial=_template_texts())
    return context


def _template_texts() -> dict[str, str]:
    """The letter's and the SMS's templates as they are now, to start legal's own texts from
    (one query)."""
    initial: dict[str, str] = {}
    for t in NoticeTemplate.objects.filter(kind__in=(NoticeTemplate.BASE, "sms")):
        if t.kind == NoticeTemplate.BASE:
            initial[f"subject_{t.language}"] = t.subject
            initial[f"body_{t.language}"] = t.body
        else:
            initial[f"sms_{t.language}"] = t.body
    return initial
