"""What the incident page shows of documents (incidents/legal/documents.py): every document of
the incident with its download link, and for legal and admins the forms to draft, edit and issue
them. Used by the incident page (frontend/views/workspace.py) and by the documents' views, which
show a refused form again in it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from frontend.document_forms import DocumentCreateForm, DocumentEditForm, DocumentIssueForm
from incidents.legal.document_kinds import ANSWERS
from incidents.legal.documents import may_write_documents
from incidents.models import Document, Incident


def document_rows(
    incident: Incident, may_write: bool, bound: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Each document, and a draft's forms for who may write (``bound``: forms that came back
    refused, by document id, shown instead of fresh ones)."""
    bound = bound or {}
    documents = Document.objects.without_pdf().filter(incident=incident)
    rows = []
    for document in documents.select_related("drafted_by", "issued_by"):
        row: dict[str, Any] = {"document": document, "answers": bool(ANSWERS.get(document.kind))}
        if may_write and document.state == Document.DRAFT:
            given = bound.get(document.pk, {})
            row["edit_form"] = given.get("edit") or DocumentEditForm(document=document)
            row["issue_form"] = given.get("issue") or DocumentIssueForm(
                initial={"version": document.version},
                prefix=f"issue-{document.pk}",
                answers=row["answers"],
            )
        rows.append(row)
    return rows


def documents_part(
    request: HttpRequest,
    incident: Incident,
    *,
    create_form: DocumentCreateForm | None = None,
    bound: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    may_write = may_write_documents(request.user)
    return {
        "document_rows": document_rows(incident, may_write, bound),
        "may_write_documents": may_write,
        "document_create_form": create_form or DocumentCreateForm(),
    }
