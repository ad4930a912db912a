"""Documents on the incident page (issue 19, section 2): legal drafts a regulator report, a
complaint letter or a brief from the record, edits the draft, and issues it after a last look
at its PDF (downloaded from the API: ``/api/incidents/{ref}/documents/{id}.pdf``). Each write
calls one domain function of incidents/legal/documents.py; a refusal comes back on the page with
what was typed kept, never a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from frontend.document_forms import DocumentCreateForm, DocumentEditForm, DocumentIssueForm
from frontend.views.common import allowed, form_target, role_required, to_section
from frontend.views.document_parts import documents_part
from frontend.views.workspace import add_errors, incident_for, page, refused
from incidents.errors import DomainError, InvalidChange, RequirementsMissing
from incidents.legal.document_kinds import ANSWERS
from incidents.legal.documents import (
    draft_document,
    ensure_may_write_documents,
    issue_document,
    update_document,
)
from incidents.models import Document, Incident


def _to_documents(incident: Incident) -> HttpResponse:
    return to_section(incident, "documents")


def _document(incident: Incident, pk: int) -> Document:
    return get_object_or_404(Document.objects.without_pdf().filter(incident=incident), pk=pk)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_documents)
def document_create(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = DocumentCreateForm(request.POST)
    again = {"create_form": form}
    if not form.is_valid():
        return page(request, incident, 400, **documents_part(request, incident, **again))
    try:
        draft_document(incident, actor=request.user, **form.values())
    except InvalidChange as error:
        add_errors(form, error)
        return page(request, incident, 400, **documents_part(request, incident, **again))
    except RequirementsMissing as error:  # a supplement before any notification was issued
        part = documents_part(request, incident, **again)
        return page(request, incident, 400, error=error.detail, **part)
    except DomainError as error:  # a draft of it is open already
        return refused(request, incident, error, **documents_part(request, incident, **again))
    return _to_documents(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_documents)
def document_edit(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    document = _document(incident, pk)
    form = DocumentEditForm(request.POST, document=document)
    again = {"bound": {document.pk: {"edit": form}}}
    if not form.is_valid():
        return page(request, incident, 400, **documents_part(request, incident, **again))
    try:
        update_document(
            document,
            actor=request.user,
            changes=form.changes(),
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:  # 409 issued meanwhile, 412 edited meanwhile, 400 limits
        return refused(request, incident, error, **documents_part(request, incident, **again))
    return _to_documents(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_documents)
def document_issue(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    document = _document(incident, pk)
    answers = bool(ANSWERS.get(document.kind))
    form = DocumentIssueForm(request.POST, prefix=f"issue-{document.pk}", answers=answers)
    again = {"bound": {document.pk: {"issue": form}}}
    if not form.is_valid():
        return page(request, incident, 400, **documents_part(request, incident, **again))
    try:
        issue_document(
            document,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            fulfil=form.cleaned_data.get("fulfil", False),
            note=form.cleaned_data.get("note", ""),
        )
    except DomainError as error:
        return refused(request, incident, error, **documents_part(request, incident, **again))
    return _to_documents(incident)
