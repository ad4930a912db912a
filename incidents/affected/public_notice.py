"""An incident's public notice (issue 18, "On the site"): which incidents have a notice page, and
what it says, in the reader's language. The page itself is frontend/views/public.py; the
"Am I affected?" check on it is incidents/affected/checks.py.

The page's address is ``letters.notice_slug`` (the reference and a keyed MAC of it), the one the
letters already link to. An incident has a page once telling the people affected is decided or
under way:
- legal decided to notify, or that a notice is not required because telling each person would
  take disproportionate effort (GDPR art. 34(3)(c): a public notice instead);
- or a campaign was approved (four eyes), whatever was decided since: its letters link here.
Every other incident, and any slug we did not make, is the same "not found".

The page says only what a letter would say to anybody: the company, the reference, when the
breach was detected and when the company learnt of it, which kinds of data were involved and the
advice for each. Never a person's data, never the incident's internal title, summary or systems.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import translation

from incidents.affected.letters import company_name, reader_context, reference_of_slug, render
from incidents.affected.notice_templates import texts_from_templates
from incidents.errors import InvalidChange
from incidents.models import Incident, NoticeCampaign
from incidents.models.notification import Exemption, Outcome

# A campaign whose letters may have gone out: approved, being sent, finished, or cancelled after
# it started sending.
_LETTERS_OUT = Q(
    state__in=(NoticeCampaign.APPROVED, NoticeCampaign.SENDING, NoticeCampaign.FINISHED)
)
_LETTERS_OUT |= Q(state=NoticeCampaign.CANCELLED, started_at__isnull=False)


@dataclass(frozen=True)
class PublicNotice:
    """What the notice page says, as plain strings in one language."""

    reference: str
    company: str
    detected_on: str
    aware_on: str
    restored: bool
    categories: list[str]
    advice: list[str]
    contact: str


def with_public_notice(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """The incidents of ``incidents`` that have a notice page (module docstring)."""
    decided = Q(notification_decision__outcome=Outcome.NOTIFY) | Q(
        notification_decision__outcome=Outcome.NOT_REQUIRED,
        notification_decision__exemption=Exemption.DISPROPORTIONATE_EFFORT,
    )
    sent = NoticeCampaign.objects.filter(_LETTERS_OUT, incident=OuterRef("pk"))
    return incidents.filter(decided | Q(Exists(sent)))


def public_incident(slug: str) -> Incident | None:
    """The incident whose notice page ``slug`` names, or None (a slug we did not make, or an
    incident without a page: the caller answers both the same)."""
    reference = reference_of_slug(slug)
    if reference is None:
        return None
    return with_public_notice(Incident.objects.filter(reference=reference)).first()


def public_notice(incident: Incident, language: str) -> PublicNotice:
    """The page's words for ``incident`` in ``language`` (fa or en)."""
    with translation.override(language):
        context = reader_context(incident, language, name="")
        context["advice"] = []
        advice = [render(text, context) for text in advice_texts(incident, language)]
    return PublicNotice(
        reference=incident.reference,
        company=company_name(language),
        detected_on=context["detected_on"],
        aware_on=context["aware_on"],
        restored=incident.restored_at is not None,
        categories=context["categories"],
        advice=[text for text in advice if text],
        contact=settings.NOTICE_CONTACT,
    )


def advice_texts(incident: Incident, language: str) -> list[str]:
    """The advice of the leaked categories as the latest campaign whose letters went out gave
    it (what the people were told), else as the templates give it now."""
    campaign = (
        NoticeCampaign.objects.filter(_LETTERS_OUT, incident=incident)
        .order_by("-approved_at", "-id")
        .only("advice")
        .first()
    )
    if campaign is not None:
        blocks = campaign.advice.get(language, [])
    else:
        try:
            blocks = texts_from_templates(incident, letter=False)["advice"][language]
        except InvalidChange:  # an admin deleted a template the SMS needs: advice stands alone
            blocks = []
    return [block["text"] for block in blocks]
