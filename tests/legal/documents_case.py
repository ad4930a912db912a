"""Helpers of the documents' tests (tests/legal/test_documents*.py): the API's URLs, drafting
and issuing through it, and a PDF's text read back."""

from __future__ import annotations

from typing import Any

import pypdfium2
from django.core.files.uploadedfile import SimpleUploadedFile


def documents_url(reference: str) -> str:
    return f"/api/incidents/{reference}/documents/"


def document_url(reference: str, pk: int, tail: str = "") -> str:
    return f"{documents_url(reference)}{pk}/{tail}"


def pdf_url(reference: str, pk: int) -> str:
    return f"{documents_url(reference)}{pk}.pdf"


def draft(client: Any, reference: str, kind: str, language: str, **extra: Any) -> dict:
    response = client.post(
        documents_url(reference), {"kind": kind, "language": language, **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def issue(client: Any, reference: str, pk: int, **body: Any) -> dict:
    response = client.post(document_url(reference, pk, "issue/"), body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def upload(client: Any, reference: str, name: str, content: bytes) -> dict:
    response = client.post(
        f"/api/incidents/{reference}/evidence/",
        {"file": SimpleUploadedFile(name, content, "text/plain")},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def pdf_text(pdf: bytes) -> str:
    """Every page's text, pages in order."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def squeezed(text: str) -> str:
    """Text without its line breaks and the invisible joiners a PDF's lines may carry, for
    looking up words that wrapped."""
    for mark in ("\r", "\n", "\u200c", "\ufffe", "\u200f", "\u200e"):
        text = text.replace(mark, " " if mark in "\r\n" else "")
    return " ".join(text.split())
