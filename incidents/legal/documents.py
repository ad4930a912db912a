"""Documents for a regulator, the police and the board (issue 19, section 2): drafted from the
record, edited by legal, issued once.

- ``draft_document``: a new draft of a kind in a language, its sections written from the record
  (incidents/legal/document_texts.py); a new edition of a kind already issued supersedes it
  when issued. A GDPR art. 33(4) supplement needs an issued notification to supplement.
- ``update_document``: legal edits a draft's sections (If-Match on the document's version).
- ``issue_document``: the PDF is typeset (incidents/legal/typeset.py) from the record as it is
  now, its bytes and SHA-256 frozen in the row, one ``document.issued`` event carries the hash
  (and the edition it supersedes), and, when asked, the legal deadline the document answers is
  fulfilled citing it.
- ``document_pdf``: a draft typeset on the fly and marked DRAFT; an issued document's frozen
  bytes, checked against their SHA-256.

Legal and admins write; every role that reads the incident reads its documents (executives
included). Every write goes through ``changing`` and appends one event in its transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.roles import ADMIN, LEGAL, has_any_role
from incidents.changing import changing, check_version, record_of, save_changes, snapshot
from incidents.choices import Authority
from incidents.errors import InvalidChange, RequirementsMissing, RoleForbidden, StaleVersion
from incidents.events import append_event
from incidents.legal.document_facts import changes_between, gather_facts
from incidents.legal.document_kinds import (
    ADDRESSEES,
    ANSWERS,
    GDPR33,
    LANGUAGES,
    sections_of,
)
from incidents.legal.document_texts import document_context, draft_sections
from incidents.legal.obligations import OBLIGATION
from incidents.legal.typeset import render_pdf
from incidents.models import Document, DocumentKind, Event, Incident, NoticeLanguage, Obligation

DRAFTED, EDITED, ISSUED = "document.drafted", "document.edited", "document.issued"


class DocumentFrozen(DomainError):
    status = 409

    def __init__(self, state: str) -> None:
        message = _(
            "An issued document is never edited; draft a new edition, which supersedes it once "
            "issued."
        )
        super().__init__(message, state=state)


class DraftExists(DomainError):
    status = 409

    def __init__(self, document: Document) -> None:
        message = _("A draft of this document is open already (#%(id)s): edit it or issue it.")
        super().__init__(message % {"id": document.pk}, document=document.pk)


class DocumentTampered(DomainError):
    status = 409

    def __init__(self, document: Document, actual: str) -> None:
        message = _(
            "The stored document no longer matches the SHA-256 recorded when it was issued."
        )
        super().__init__(message, expected_sha256=document.sha256, actual_sha256=actual)


def may_write_documents(user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_write_documents(user: Any) -> None:
    """RoleForbidden unless the user may draft, edit and issue documents (callers check it
    before parsing, so a reader hears 403 before any complaint about the body)."""
    if not may_write_documents(user):
        raise RoleForbidden(_("Only legal and admins draft and issue documents."))


def describe(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "kind": document.kind,
        "language": document.language,
        "edition": document.edition,
    }


def draft_document(
    incident: Incident | str,
    *,
    actor: Any,
    kind: str,
    language: str,
    authority: str = "",
    supersedes: int | None = None,
) -> tuple[Document, Event]:
    """A new draft (``kind``, ``language``, for a complaint letter its ``authority``; for a
    correction of an issued supplement, the id it ``supersedes``), its sections written from
    the record. Any other kind's new edition supersedes the one issued in that language."""
    ensure_may_write_documents(actor)
    _check_kind(kind, language, authority)
    with changing(incident) as locked:
        documents = Document.objects.without_pdf().filter(incident=locked)
        mine = documents.filter(kind=kind, language=language)
        open_draft = mine.filter(state=Document.DRAFT).first()
        if open_draft is not None:
            raise DraftExists(open_draft)
        if kind == DocumentKind.GDPR33_SUPPLEMENT and not documents.issued().filter(
            kind=DocumentKind.GDPR33_NOTIFICATION
        ):
            raise RequirementsMissing(
                ["gdpr33_notification"],
                _("A supplement follows an issued GDPR art. 33 notification: issue that first."),
            )
        replaced = _replaced(mine, kind, supersedes)
        if kind == DocumentKind.COMPLAINT_LETTER and not authority:
            authority = _addressee(locked)
        facts = gather_facts(locked)
        document = Document.objects.create(
            incident=locked,
            kind=kind,
            language=language,
            edition=(mine.aggregate(last=Max("edition"))["last"] or 0) + 1,
            authority=authority,
            supersedes=replaced,
            drafted_by=actor,
            drafted_at=timezone.now(),
        )
        changes, base = changes_for(document, facts)
        document.sections = draft_sections(
            kind, language, facts, authority=authority, changes=changes, base=base
        )
        document.save(update_fields=["sections"])
        data = {"document": describe(document)}
        if replaced is not None:
            data["supersedes"] = describe(replaced)
        event = append_event(locked, DRAFTED, actor=actor, data=data)
    return document, event


def _check_kind(kind: str, language: str, authority: str) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in DocumentKind.values:
        errors["kind"] = [_("Unknown kind of document.")]
    elif language not in LANGUAGES.get(kind, NoticeLanguage.values):
        errors["language"] = [_("This document is written in Persian only.")]
    if authority and kind != DocumentKind.COMPLAINT_LETTER:
        errors["authority"] = [_("Only a complaint letter has an addressee.")]
    elif authority and authority not in ADDRESSEES:
        errors["authority"] = [_("A complaint goes to the cyber police or the prosecutor.")]
    if errors:
        raise InvalidChange(errors)


def _replaced(mine: Any, kind: str, supersedes: int | None) -> Document | None:
    """The issued edition a new draft supersedes: the one in force, or for a supplement (each
    is a phase of its own) the one named."""
    current = mine.filter(state=Document.ISSUED)
    if supersedes is None:
        return None if kind == DocumentKind.GDPR33_SUPPLEMENT else current.first()
    named = current.filter(pk=supersedes).first()
    if named is None:
        message = _("Name an issued document of the same kind and language.")
        raise InvalidChange({"supersedes": [message]})
    return named


def _addressee(incident: Incident) -> str:
    """The authority of the incident's latest referral to the police or the prosecutor, else
    the cyber police."""
    latest = incident.referrals.filter(authority__in=ADDRESSEES).order_by("-created_at", "-id")
    return latest.values_list("authority", flat=True).first() or Authority.CYBER_POLICE


def update_document(
    document: Document,
    *,
    actor: Any,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> tuple[Document, Event | None]:
    """Legal edits a draft: ``changes`` holds ``sections`` ({key: text}, the keys given are
    replaced) and, for a complaint letter, ``authority``. No-op edits write nothing."""
    ensure_may_write_documents(actor)
    with changing(document.incident_id) as incident:
        locked = record_of(incident, Document, document.pk, expected_version)
        if locked.state != Document.DRAFT:
            raise DocumentFrozen(locked.state)
        before = snapshot(locked)
        edited = _edit_sections(locked, changes.get("sections") or {})
        data: dict[str, Any] = {"document": describe(locked)}
        if edited:
            data["sections"] = edited
        authority = changes.get("authority")
        if authority is not None and authority != locked.authority:
            _check_kind(locked.kind, locked.language, authority)
            data["authority"] = {"from": locked.authority, "to": authority}
            locked.authority = authority
        if len(data) == 1:
            return locked, None
        save_changes(locked, before)
        event = append_event(incident, EDITED, actor=actor, data=data)
    return locked, event


def _edit_sections(document: Document, given: dict[str, Any]) -> list[str]:
    """Replace the sections given; the keys that changed (InvalidChange for an unknown key or
    an overlong text)."""
    known = {s.key: s for s in sections_of(document.kind)}
    errors = {}
    for key, text in given.items():
        if key not in known:
            errors[key] = [_("No such section in this kind of document.")]
        elif not isinstance(text, str):
            errors[key] = [_("Not a valid string.")]
        elif len(text) > known[key].max_length:
            errors[key] = [_("At most %(n)s characters.") % {"n": known[key].max_length}]
    if errors:
        raise InvalidChange({"sections": [f"{k}: {' '.join(v)}" for k, v in errors.items()]})
    edited = [k for k, text in given.items() if document.sections.get(k) != text]
    document.sections = {**document.sections, **given}
    return edited


def supplement_base(document: Document) -> Document | None:
    """What a supplement is compared against: the GDPR-33 document issued last before it (for
    a correction, last before the supplement it corrects)."""
    issued = Document.objects.without_pdf().issued().filter(incident_id=document.incident_id)
    issued = issued.filter(kind__in=GDPR33).exclude(pk=document.pk)
    if document.supersedes_id is not None:
        issued = issued.exclude(pk=document.supersedes_id)
        issued = issued.filter(issued_at__lt=document.supersedes.issued_at)
    return issued.order_by("-issued_at", "-id").first()


def changes_for(document: Document, facts: dict[str, Any]) -> tuple[list[dict], Document | None]:
    """A supplement's changes since its base, with the base; nothing for other kinds."""
    if document.kind != DocumentKind.GDPR33_SUPPLEMENT:
        return [], None
    base = supplement_base(document)
    return (changes_between(base.facts, facts) if base else []), base


def render_document(
    document: Document, facts: dict[str, Any], changes: list[dict], base: Document | None
) -> bytes:
    context = document_context(document, facts, changes, base, sections_of(document.kind))
    return render_pdf(
        f"incidents/print/documents/{document.kind}.html", context, language=document.language
    )


def document_pdf(document: Document) -> bytes:
    """An issued document's frozen bytes (DocumentTampered if they no longer match their
    SHA-256), or a draft typeset now from the record as it is, marked DRAFT."""
    if document.issued_at is not None:
        stored = bytes(document.pdf or b"")
        actual = hashlib.sha256(stored).hexdigest()
        if actual != document.sha256:
            raise DocumentTampered(document, actual)
        return stored
    facts = gather_facts(document.incident)
    changes, base = changes_for(document, facts)
    return render_document(document, facts, changes, base)


def issue_document(
    document: Document,
    *,
    actor: Any,
    expected_version: int | None = None,
    fulfil: bool = False,
    note: str = "",
) -> tuple[Document, Event]:
    """Typeset the draft from the record as it is now and freeze it: bytes, SHA-256, the facts
    it showed. One ``document.issued`` event; the edition it supersedes becomes superseded;
    with ``fulfil``, the open deadline it answers is fulfilled citing it (InvalidChange when
    there is none). Typesetting takes a moment, so it runs before the incident is locked; a
    draft edited meanwhile is refused (StaleVersion) rather than issued unseen."""
    ensure_may_write_documents(actor)
    draft = (
        Document.objects.without_pdf().select_related("incident", "supersedes").get(pk=document.pk)
    )
    check_version(draft, expected_version)
    if draft.state != Document.DRAFT:
        raise DocumentFrozen(draft.state)
    draft.issued_by, draft.issued_at = actor, timezone.now()
    facts = gather_facts(draft.incident)
    changes, base = changes_for(draft, facts)
    pdf = render_document(draft, facts, changes, base)
    with changing(draft.incident_id) as incident:
        locked = record_of(incident, Document, draft.pk, draft.version)
        if locked.state != Document.DRAFT:
            raise DocumentFrozen(locked.state)
        _check_base(locked, base)
        replaced = _still_in_force(incident, locked)
        answered = _answered(incident, locked, fulfil)
        before = snapshot(locked)
        locked.issue(by=actor, at=draft.issued_at)
        locked.pdf, locked.size = pdf, len(pdf)
        locked.sha256 = hashlib.sha256(pdf).hexdigest()
        locked.facts, locked.changes = facts, changes
        locked.obligation = answered
        save_changes(locked, before)
        if replaced is not None:
            replaced_before = snapshot(replaced)
            replaced.supersede()
            save_changes(replaced, replaced_before)
        event = append_event(incident, ISSUED, actor=actor, data=_issued_data(locked, replaced))
        if answered is not None:
            _fulfil(answered, locked, actor, note)
    return locked, event


def _check_base(document: Document, base: Document | None) -> None:
    """A supplement issued meanwhile changes what this one must be compared with."""
    if document.kind == DocumentKind.GDPR33_SUPPLEMENT:
        now = supplement_base(document)
        if (now.pk if now else None) != (base.pk if base else None):
            raise StaleVersion(current=document.version)


def _still_in_force(incident: Incident, document: Document) -> Document | None:
    if document.supersedes_id is None:
        return None
    replaced = record_of(incident, Document, document.supersedes_id)
    if replaced.state != Document.ISSUED:
        raise DocumentFrozen(replaced.state)
    return replaced


def _answered(incident: Incident, document: Document, fulfil: bool) -> Obligation | None:
    if not fulfil:
        return None
    steps = ANSWERS.get(document.kind, ())
    found = incident.obligations.open().filter(step_key__in=steps).order_by("due_at", "id")
    obligation = found.select_related("rule").first()
    if obligation is None:
        message = _("No open legal deadline is answered by this document.")
        raise InvalidChange({"fulfil": [message]})
    return obligation


def _fulfil(obligation: Obligation, document: Document, actor: Any, note: str) -> None:
    """Fulfil the deadline in the same transaction, its note citing the document as proof."""
    cited = _(
        "Issued document #%(id)s, %(kind)s, edition %(edition)s (%(language)s), SHA-256 %(sha)s."
    )
    text = cited % {
        "id": document.pk,
        "kind": DocumentKind(document.kind).label,
        "edition": document.edition,
        "language": document.language,
        "sha": document.sha256,
    }
    full = f"{text} {note}".strip()[: Obligation._meta.get_field("note").max_length]
    OBLIGATION.run(obligation, "fulfil", actor=actor, payload={"note": full})


def _issued_data(document: Document, replaced: Document | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "document": describe(document),
        "sha256": document.sha256,
        "size": document.size,
    }
    if replaced is not None:
        data["supersedes"] = {**describe(replaced), "sha256": replaced.sha256}
    if document.obligation_id is not None:
        data["obligation"] = document.obligation_id
    if document.kind == DocumentKind.GDPR33_SUPPLEMENT:
        data["changes"] = [c["key"] for c in document.changes]
    return data
