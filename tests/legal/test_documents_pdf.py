"""The documents' PDFs read back (pypdfium2): the words a regulator, the police and the board
look for, in Persian and in English, and the mark of a draft only on drafts."""

from __future__ import annotations

import time
from pathlib import Path

import pypdfium2
import pytest
from django.conf import settings

from incidents.lifecycle import update_incident
from tests.legal.documents_case import draft, issue, pdf_text, pdf_url, squeezed, upload

pytestmark = pytest.mark.django_db


def _text(client, reference: str, pk: int) -> str:
    response = client.get(pdf_url(reference, pk))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    return squeezed(pdf_text(response.content))


def test_the_english_gdpr33_notification_reads_as_one(api, incident_in):
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "gdpr33_notification", "en")
    drafted = _text(legal, incident.reference, body["id"])
    assert "DRAFT" in drafted
    issue(legal, incident.reference, body["id"])
    text = _text(legal, incident.reference, body["id"])
    for words in (
        "Notification of a personal data breach to the supervisory authority",
        "article 33",
        incident.reference,
        "Nature of the personal data breach",
        "Categories of personal data concerned: Contact (mobile number, email); Identity (names)",
        "Approximate number of data subjects concerned: 120",
        "Contact point",
        "Likely consequences",
        "Measures taken to address the breach: Patched and rotated keys.",
        "Page 1 of",
    ):
        assert words in text, words
    assert "DRAFT" not in text
    # In the order art. 33(3) lists them.
    assert text.index("Nature of") < text.index("Likely consequences") < text.index("Measures")


def test_the_persian_complaint_letter_reads_as_one(api, incident_in, media):
    incident = incident_in("restored")
    legal = api("legal")
    proof = upload(legal, incident.reference, "firewall.log", b"DROP 203.0.113.9\n")
    body = draft(legal, incident.reference, "complaint_letter", "fa")
    assert "پیش‌نویس".replace("\u200c", "") in _text(legal, incident.reference, body["id"])
    issue(legal, incident.reference, body["id"])
    text = _text(legal, incident.reference, body["id"])
    # Words whose letters a PDF's text layer gives back in order (pdfium reads some joined
    # letter pairs, like "تر", in the order they are drawn).
    for words in (
        "پلیس فتا",
        "اشخاص مجهولالهویه",
        "ماجرا",
        "قانون جرایم رایانهای مصوب ۱۳۸۸",
        "خواسته",
        "شناسایی مرتکب یا مرتکبان",
        "فهرست ادله",
        "firewall.log",
        incident.reference,
    ):
        assert words in text, words
    assert proof["sha256"] in text.replace(" ", "")
    assert "پیشنویس" not in text
    # The facts come before the request, the evidence list after the signature.
    assert text.index("ماجرا") < text.index("خواسته") < text.index("فهرست ادله")


def test_the_persian_brief_counts_in_persian_digits(rules, api, incident_in, engineer):
    incident = incident_in("restoring")
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 12500})
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "fa")
    issue(legal, incident.reference, body["id"])
    text = _text(api("executive"), incident.reference, body["id"])
    assert "حدود ۱۲٬۵۰۰ نفر" in text
    assert "GDPR" in text and "KALAK" in text  # the open deadlines, with their rules
    assert "12,500" not in text


def test_the_english_brief_fits_on_one_page(api, incident_in):
    import pypdfium2

    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "executive_brief", "en")
    issue(legal, incident.reference, body["id"])
    pdf = legal.get(pdf_url(incident.reference, body["id"])).content
    assert len(pypdfium2.PdfDocument(pdf)) == 1
    text = squeezed(pdf_text(pdf))
    for words in ("Executive brief", "What happened", "Who is affected", "What is done"):
        assert words in text, words


def test_a_supplement_in_persian_lists_the_change(api, incident_in, engineer):
    incident = incident_in("restoring")
    legal = api("legal")
    issue(
        legal,
        incident.reference,
        draft(legal, incident.reference, "gdpr33_notification", "fa")["id"],
    )
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 500})
    body = draft(legal, incident.reference, "gdpr33_supplement", "fa")
    issue(legal, incident.reference, body["id"])
    text = _text(legal, incident.reference, body["id"])
    assert "۱۲۰" in text and "۵۰۰" in text
    assert "فیشینگ" not in text  # the attack vector did not change


@pytest.mark.parametrize(
    "text",
    ["ش" * 20000, "a" * 20000, "\u0651" * 20000, "0123456789abcdef" * 1250],
    ids=["persian-letters", "latin-letters", "stacked-marks", "hashes"],
)
def test_a_draft_of_endless_words_typesets_in_seconds(api, incident_in, text):
    """One unbroken run per section took WeasyPrint close to a minute, stacked marks more."""
    incident = incident_in("restored")
    legal = api("legal")
    body = draft(legal, incident.reference, "gdpr33_notification", "fa")
    url = f"/api/incidents/{incident.reference}/documents/{body['id']}/"
    edited = legal.patch(url, {"sections": {"nature": text}}, format="json")
    assert edited.status_code == 200
    started = time.monotonic()
    response = legal.get(pdf_url(incident.reference, body["id"]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert time.monotonic() - started < 15
    # The stored text is left whole: only the typeset copy gets its breaks.
    assert legal.get(url).json()["sections"]["nature"] == text


@pytest.mark.parametrize(
    ("kind", "language"),
    [
        ("gdpr33_notification", "en"),
        ("gdpr33_notification", "fa"),
        ("complaint_letter", "fa"),
        ("executive_brief", "fa"),
        ("executive_brief", "en"),
    ],
)
def test_pages_of_each_document_are_saved_as_screenshots(api, incident_in, media, kind, language):
    """Test artifacts to look at: VAR_DIR/screenshots/document-<kind>-<lang>-<page>.png."""
    incident = incident_in("restored")
    legal = api("legal")
    upload(legal, incident.reference, "firewall.log", b"DROP 203.0.113.9\n")
    body = draft(legal, incident.reference, kind, language)
    pdf = legal.get(pdf_url(incident.reference, body["id"])).content
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument(pdf)
    try:
        for n, page in enumerate(document, start=1):
            path = folder / f"document-{kind}-{language}-{n}.png"
            page.render(scale=1.2).to_pil().save(path)
            assert path.stat().st_size > 10_000  # a page with text on it, not a blank
    finally:
        document.close()
