"""The words of documents (issue 19, section 2): the sections drafted from the record for legal
to edit (plain-text templates per kind, section and language under
``incidents/print/documents/drafts/``), and what the typeset templates
(``incidents/print/documents/<kind>.html``) are given: the record's facts with their words in
the document's language, a supplement's changes, the sections as legal wrote them.

Legal prose is written in each language by someone who writes it (the Persian complaint letter
above all), not assembled from translated fragments; labels and headings go through gettext."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.db.models import TextChoices
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from core import formats
from incidents.choices import AttackVector, Authority, DataCategory, Hosting, Severity, State
from incidents.labels import EVENT_LABELS
from incidents.legal.document_kinds import sections_of
from incidents.models import Consequence, Exemption, Obligation, Outcome, Referral, Sensitivity

# A supplement's changes, as a reader is told them (incidents/legal/document_facts.TRACKED).
TRACKED_LABELS = {
    "incident.attack_vector": _("Attack vector"),
    "incident.source_details": _("Source of the breach"),
    "incident.affected_systems": _("Affected systems"),
    "incident.data_categories": _("Categories of personal data"),
    "incident.affected_subjects_estimate": _("People affected (estimate)"),
    "register.people": _("People identified in the register of those affected"),
    "decision.outcome": _("Decision on telling the people affected"),
    "decision.consequences": _("Likely consequences"),
    "decision.measures": _("Measures taken or proposed"),
    "incident.restoration_summary": _("Restoration"),
    "incident.state": _("State of the incident"),
    "notices.sent": _("Notices sent to the people affected"),
    "referrals": _("Referrals to authorities"),
    "evidence": _("Evidence secured"),
}
# GDPR art. 33(1): a notification later than 72 hours after awareness says why.
NOTIFY_WITHIN = dt.timedelta(hours=72)
# A run of this many characters without a space gets a place to break (see ``breakable``).
RUN = 48
MARKS = 8
_LONG_RUN = re.compile(r"\S{" + str(RUN + 1) + ",}")


def word(choices: type[TextChoices], value: Any) -> Any:
    """A stored value's word (lazy: it is read in the language the template renders in)."""
    return choices(value).label if value in choices.values else (value or "—")


def when(value: Any) -> dt.datetime | None:
    """A JSON moment (ISO 8601) back as an aware datetime for the templates' filters."""
    if not value:
        return None
    return value if isinstance(value, dt.datetime) else parse_datetime(value)


def readable_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with words and datetimes where the templates print them."""
    incident = dict(facts["incident"])
    for key in ("detected_at", "aware_at", "restored_at", "referred_at", "closed_at"):
        incident[key] = when(incident.get(key))
    incident["attack_vector_label"] = word(AttackVector, incident.get("attack_vector"))
    incident["severity_label"] = word(Severity, incident.get("severity"))
    incident["state_label"] = word(State, incident.get("state"))
    incident["categories"] = [word(DataCategory, c) for c in incident.get("data_categories") or []]
    incident["systems"] = [
        {"name": s.get("name", ""), "hosting": word(Hosting, s.get("hosting"))}
        for s in incident.get("affected_systems") or []
    ]
    decision = dict(facts["decision"])
    decision["decided_at"] = when(decision.get("decided_at"))
    decision["outcome_label"] = word(Outcome, decision.get("outcome"))
    decision["exemption_label"] = (
        word(Exemption, decision["exemption"]) if decision.get("exemption") else ""
    )
    decision["risk_label"] = word(Sensitivity, decision["risk"]) if decision.get("risk") else ""
    decision["consequence_labels"] = [word(Consequence, c) for c in decision["consequences"]]
    notices = dict(facts["notices"])
    for key in ("first_sent_at", "last_sent_at"):
        notices[key] = when(notices.get(key))
    return {
        **facts,
        "incident": incident,
        "decision": decision,
        "notices": notices,
        "referrals": [_referral(r) for r in facts["referrals"]],
        "obligations": [_obligation(o) for o in facts["obligations"]],
        "evidence": [{**e, "uploaded_at": when(e.get("uploaded_at"))} for e in facts["evidence"]],
        "chronology": [_happening(e) for e in facts["chronology"]],
    }


def _referral(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "submitted_at": when(row.get("submitted_at")),
        "authority_label": row.get("authority_name") or word(Authority, row.get("authority")),
        "state_label": dict(Referral.STATES).get(row.get("state"), row.get("state")),
    }


def _obligation(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "due_at": when(row.get("due_at")),
        "decided_at": when(row.get("decided_at")),
        "state_label": dict(Obligation.STATES).get(row.get("state"), row.get("state")),
        "open": row.get("state") == Obligation.OPEN,
    }


def _happening(row: dict[str, Any]) -> dict[str, Any]:
    kind = row.get("kind", "")
    return {**row, "at": when(row.get("at")), "label": EVENT_LABELS.get(kind, kind)}


def shown_value(key: str, value: Any) -> str:
    """A tracked value (a supplement's before or after) as a reader reads it, in the active
    language."""
    if value in (None, "", []):
        return formats.NO_MOMENT
    if key == "incident.data_categories":
        return "; ".join(str(word(DataCategory, c)) for c in value)
    if key == "incident.affected_systems":
        return "; ".join(str(s.get("name", "")) for s in value)
    if key == "incident.attack_vector":
        return str(word(AttackVector, value))
    if key == "incident.state":
        return str(word(State, value))
    if key == "decision.outcome":
        return str(word(Outcome, value))
    if key == "decision.consequences":
        return "; ".join(str(word(Consequence, c)) for c in value)
    if key == "referrals":
        return "; ".join(
            f"{word(Authority, r.get('authority'))}: "
            f"{dict(Referral.STATES).get(r.get('state'), r.get('state'))}"
            + (f" ({r['case_number']})" if r.get("case_number") else "")
            for r in value
        )
    if key == "evidence":
        return "; ".join(f"{e.get('name')} ({str(e.get('sha256'))[:16]}…)" for e in value)
    if isinstance(value, int):
        return formats.digits(f"{value:,}")
    return str(value)


def readable_changes(changes: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "key": c["key"],
            "label": str(TRACKED_LABELS.get(c["key"], c["key"])),
            "from": shown_value(c["key"], c["from"]),
            "to": shown_value(c["key"], c["to"]),
        }
        for c in changes
    ]


def breakable(text: Any) -> Any:
    """``text`` for the typesetter only: an invisible break opportunity (ZERO WIDTH SPACE)
    every RUN characters of a run without spaces, and no more than MARKS marks in a row.
    WeasyPrint looks for a line break in a long unbroken run character by character: a section
    of 20,000 letters with no space (or one pasted hash after another) took close to a minute;
    real words are never that long. Stored texts are left as they were written."""
    if not isinstance(text, str) or len(text) <= RUN:
        return text
    text = _few_marks(text)
    return _LONG_RUN.sub(
        lambda m: "\u200b".join(m[0][i : i + RUN] for i in range(0, len(m[0]), RUN)), text
    )


def _few_marks(text: str) -> str:
    """At most MARKS marks and format characters in a row (a Persian letter carries one or two
    diacritics; 20,000 stacked marks took a minute to typeset and a megabyte and a half of
    PDF). Only the typeset copy is trimmed."""
    kept, row = [], 0
    for char in text:
        row = row + 1 if unicodedata.category(char) in ("Mn", "Me", "Cf") else 0
        if row <= MARKS:
            kept.append(char)
    return "".join(kept)


def _typeset_facts(f: dict[str, Any]) -> dict[str, Any]:
    """The free texts the templates print straight from the record, made ``breakable``."""
    incident = {k: breakable(v) for k, v in f["incident"].items()}
    evidence = [
        {**e, "name": breakable(e["name"]), "description": breakable(e["description"])}
        for e in f["evidence"]
    ]
    return {**f, "incident": incident, "evidence": evidence}


def company(language: str) -> dict[str, str]:
    """The company as it names itself in ``language`` (the letterhead's settings)."""
    suffix = language.upper()
    return {
        "name": getattr(settings, f"COMPANY_NAME_{suffix}", "") or settings.COMPANY_NAME,
        "address": getattr(settings, f"COMPANY_ADDRESS_{suffix}", "")
        or getattr(settings, "COMPANY_ADDRESS", ""),
    }


def _text_context(
    facts: dict[str, Any], language: str, authority: str, changes: list[dict], base: Any
) -> dict[str, Any]:
    f = readable_facts(facts)
    aware = f["incident"]["aware_at"]
    return {
        "f": f,
        "company": company(language),
        "authority": authority,
        "changes": readable_changes(changes),
        "base": base,
        "late": bool(aware and timezone.now() - aware > NOTIFY_WITHIN),
        "open_obligations": [o for o in f["obligations"] if o["open"]],
    }


def draft_sections(
    kind: str,
    language: str,
    facts: dict[str, Any],
    *,
    authority: str = "",
    changes: list[dict] | None = None,
    base: Any = None,
) -> dict[str, str]:
    """Each section of ``kind`` written from the record in ``language``, for legal to edit."""
    with translation.override(language):
        context = _text_context(facts, language, authority, changes or [], base)
        # A long record (hundreds of notes) is cut to what the section holds, so the draft can
        # be saved again as it is.
        return {
            section.key: render_to_string(
                f"incidents/print/documents/drafts/{kind}/{section.key}.{language}.txt", context
            ).strip()[: section.max_length]
            for section in sections_of(kind)
        }


def document_context(
    document: Any,
    facts: dict[str, Any],
    changes: list[dict],
    base: Any,
    sections: tuple[Any, ...],
) -> dict[str, Any]:
    """What ``incidents/print/documents/<kind>.html`` is given to typeset ``document``."""
    with translation.override(document.language):
        context = _text_context(facts, document.language, document.authority, changes, base)
        context["f"] = _typeset_facts(context["f"])
        context["changes"] = [
            {**c, "from": breakable(c["from"]), "to": breakable(c["to"])}
            for c in context["changes"]
        ]
        kind = str(document.get_kind_display())
        context.update(
            {
                "doc": document,
                "kind_label": kind,
                "draft": document.issued_at is None,
                "document_reference": f"{facts['incident']['reference']} · {kind} · "
                + str(_("edition %(n)s") % {"n": formats.digits(document.edition)}),
                "sections": [
                    {
                        "key": s.key,
                        "label": str(s.label),
                        "text": breakable(document.sections.get(s.key, "")),
                    }
                    for s in sections
                ],
                "section": {k: breakable(v) for k, v in document.sections.items()},
                "supersedes": document.supersedes,
                "authority_label": word(Authority, document.authority)
                if document.authority
                else "",
            }
        )
    return context
