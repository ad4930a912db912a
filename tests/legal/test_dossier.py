"""The dossier: the PDF renders Persian shaped right-to-left (checked on a rendered page), and
the ZIP carries the PDF, the evidence, a JSON export and a SHA256SUMS that sha256sum accepts.
Any text a user can store renders, whole: long runs of punctuation, symbols or emoji once
overflowed fpdf2's recursive bidi resolution (RecursionError, a 500)."""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from fontTools.ttLib import TTFont
from PIL import Image
from rest_framework.test import APIClient

from incidents.legal.dossier import (
    ZERO_WIDTH_RUN_LIMIT,
    _Pdf,
    font_path,
    trim_zero_width_runs,
    when,
)
from incidents.legal.dossier_bidi import NEUTRAL_RUN_LIMIT, bound_neutral_runs, direction_of
from incidents.legal.obligations import apply_obligation_transition
from incidents.legal.referrals import apply_referral_transition, create_referral, hand_over_evidence
from incidents.lifecycle import update_incident
from incidents.models import CustodyEntry, Evidence, Incident, Obligation, Referral
from incidents.notes import NOTE_MAX_LENGTH, add_note

pytestmark = pytest.mark.django_db

PERSIAN_TITLE = "نشت پایگاه داده فروشگاه"


def render(pdf_bytes: bytes, page: int = 0) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf_bytes)
    return document[page].render(scale=1).to_pil().convert("L")


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    return image.point(lambda v: 255 if v < 128 else 0).getbbox()


def line_image(text: str, *, shaping: bool) -> Image.Image:
    pdf = _Pdf()
    pdf.shape_persian = shaping
    pdf.add_page()
    pdf.text_line(text, size=20)
    image = render(bytes(pdf.output()))
    return image.crop((0, 0, image.width, 80))


def test_persian_is_joined_by_shaping_and_aligned_right():
    shaped = ink_box(line_image("سلام دنیا پرونده", shaping=True))
    isolated = ink_box(line_image("سلام دنیا پرونده", shaping=False))
    width = line_image("x", shaping=True).width
    # Joined letters take their connected forms, visibly narrower than isolated ones ...
    assert (shaped[2] - shaped[0]) < 0.85 * (isolated[2] - isolated[0])
    # ... and a Persian line ends at the right margin (RTL), not the left.
    assert shaped[2] > 0.9 * width and shaped[0] > 0.5 * width


def test_dossier_pdf_first_page_has_the_persian_heading_on_the_right(api, incident_in):
    incident = incident_in("restored", title=PERSIAN_TITLE)
    response = api("legal").get(f"/api/incidents/{incident.reference}/dossier.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    page = render(response.content)
    heading = ink_box(page.crop((0, 0, page.width, 60)))
    assert heading is not None and heading[2] > 0.85 * page.width and heading[0] > 0.4 * page.width
    text = pypdfium2.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert incident.reference in text
    assert "1405/" in text or "1404/" in text  # Jalali dates beside the Gregorian ones
    assert "checkpoint " in pdf_text(response.content)  # the verification, on a later page


def test_tehran_time_is_given_in_jalali_and_gregorian():
    import datetime as dt

    moment = dt.datetime(2026, 3, 20, 20, 30, tzinfo=dt.UTC)  # 00:00 next day in Tehran
    assert when(moment) == "1405/01/01 00:00 — 2026-03-21 00:00 (Tehran)"


def test_dossier_zip_holds_pdf_evidence_json_and_checkable_sums(
    rules, api, incident_in, media, tmp_path
):
    incident = incident_in("restored")
    for name, content in (("../../etc/passwd", b"root:x:0:0\n"), ("ضبط.txt", b"log\n" * 50)):
        api("engineer").post(
            f"/api/incidents/{incident.reference}/evidence/",
            {"file": SimpleUploadedFile(name, content)},
            format="multipart",
        )
    response = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert "dossier.pdf" in names and "incident.json" in names and "SHA256SUMS" in names
    evidence_names = [n for n in names if n.startswith("evidence/")]
    assert len(evidence_names) == 2 and all(".." not in n for n in evidence_names)
    export = json.loads(archive.read("incident.json"))
    assert export["incident"]["reference"] == incident.reference
    assert {e["sha256"] for e in export["evidence"]} == set(
        Evidence.objects.values_list("sha256", flat=True)
    )
    assert {o["rule"] for o in export["obligations"]} == {"GDPR-33", "KALAK"}
    assert export["verification"]["ok"] is True
    archive.extractall(tmp_path / "out")
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"],
            cwd=tmp_path / "out",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    else:  # the same check by hand, for machines without coreutils
        import hashlib

        for line in (tmp_path / "out" / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split("  ", 1)
            assert hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() == digest
    assert CustodyEntry.objects.filter(action="downloaded", note="dossier").count() == 2


def test_dossier_zip_withholds_a_tampered_file(api, incident_in, media):
    incident = incident_in("scoping")
    pk = (
        api("engineer")
        .post(
            f"/api/incidents/{incident.reference}/evidence/",
            {"file": SimpleUploadedFile("a.txt", b"original")},
            format="multipart",
        )
        .json()["id"]
    )
    (Path(media) / "evidence" / Evidence.objects.get(pk=pk).stored_name).write_bytes(b"forged!!")
    response = api("admin").get(f"/api/incidents/{incident.reference}/dossier.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert not [n for n in archive.namelist() if n.startswith("evidence/")]
    assert str(pk) in archive.read("WITHHELD.txt").decode()


def test_executive_gets_the_pdf_but_not_the_zip(api, incident_in, media):
    reference = incident_in("scoping").reference
    assert api("executive").get(f"/api/incidents/{reference}/dossier.pdf").status_code == 200
    assert api("executive").get(f"/api/incidents/{reference}/dossier.zip").status_code == 403
    assert api("legal").get("/api/incidents/INC-1999-0001/dossier.pdf").status_code == 404


# Runs of characters that are not strong letters (punctuation, symbols, emoji, spaces), long
# enough to have overflowed fpdf2's recursive bidi resolution, and Persian words between them.
MIXED = (
    "گزارش نشت «پایگاه داده» (سرور ۳): "
    + "-" * 1200
    + " ؛ "
    + ". " * 500
    + " ok! "
    + "=-" * 600
    + "؟!\n"
) * 3
LONG_RUNS = {
    "dashes": "-" * 1000,
    "equals signs": "=" * 2000,
    "dots": "." * 1200,
    "spaced dashes": "- " * 600,
    "emoji": "\U0001f600" * 1000,
    "percent signs": "%" * 1000,  # European terminators: another recursive rule (W5)
    "persian and punctuation": MIXED,
}


def pdf_text(pdf_bytes: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        # get_text_range recurses once per trailing unmapped character (combining marks).
        return "".join(page.get_textpage().get_text_bounded() for page in document)
    finally:
        document.close()


def assert_drawn_whole(pdf_bytes: bytes, *texts: str) -> None:
    """Every visible character of the texts is in the PDF's text as often as in the texts
    (order aside: lines wrap, right-to-left runs come out in visual order, brackets mirrored).
    Characters the font has no glyph for (emoji) are left out: they never were drawn."""
    glyphs = TTFont(font_path()).getBestCmap()
    wanted = Counter(
        c
        for c in "".join(texts)
        if ord(c) in glyphs and not c.isspace() and unicodedata.category(c) != "Cf"
    )
    missing = wanted - Counter(pdf_text(pdf_bytes))
    assert not missing, f"missing from the PDF: {dict(missing)}"


def fetch_dossier(client: APIClient, reference: str) -> tuple[bytes, bytes]:
    """The PDF from dossier.pdf and the one inside dossier.zip, each checked to be a PDF."""
    response = client.get(f"/api/incidents/{reference}/dossier.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    bundle = client.get(f"/api/incidents/{reference}/dossier.zip")
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content)))
    assert archive.testzip() is None
    zipped = archive.read("dossier.pdf")
    for pdf in (response.content, zipped):
        assert pdf.startswith(b"%PDF-")
        document = pypdfium2.PdfDocument(pdf)  # raises PdfiumError on a damaged file
        assert len(document) >= 1
        document.close()
    return response.content, zipped


@pytest.mark.parametrize("text", LONG_RUNS.values(), ids=LONG_RUNS.keys())
def test_dossier_renders_long_runs_of_punctuation_and_symbols_whole(api, incident_in, text):
    incident = incident_in("scoping", title=text[:200], summary=text)
    pdf, zipped = fetch_dossier(api("legal"), incident.reference)
    assert_drawn_whole(pdf, text[:200], text)
    assert_drawn_whole(zipped, text[:200], text)


def longest(model: type, field: str, *, lines: bool = True) -> str:
    """Persian words between long runs of punctuation, as long as the field may hold."""
    unit = "نشت «داده» (۱۴۰۵): " + "-" * 900 + " " + "." * 900 + ("\n" if lines else " ")
    size = model._meta.get_field(field).max_length
    return (unit * (size // len(unit) + 1))[:size]


def test_dossier_renders_every_free_text_field_at_its_longest(
    rules, api, incident_in, media, legal
):
    incident = incident_in(
        "restored",
        title=longest(Incident, "title", lines=False),
        summary=longest(Incident, "summary"),
        source_details=longest(Incident, "source_details"),
    )
    restoration = longest(Incident, "restoration_summary")
    incident, _ = update_incident(
        incident, actor=legal, changes={"restoration_summary": restoration}
    )
    name = longest(Evidence, "original_name", lines=False)
    api("engineer").post(
        f"/api/incidents/{incident.reference}/evidence/",
        {"file": SimpleUploadedFile(name, b"log\n")},
        format="multipart",
    )
    authority, outcome, reason, handover, note = (
        longest(Referral, "authority_name", lines=False),
        longest(Referral, "outcome"),
        longest(Referral, "withdrawn_reason"),
        longest(CustodyEntry, "note"),
        longest(Obligation, "note"),
    )
    concluded, _ = create_referral(
        incident,
        actor=legal,
        data={
            "authority": "other",
            "authority_name": authority,
            "notes": longest(Referral, "notes"),  # in incident.json, not in the PDF
        },
    )
    apply_referral_transition(concluded, "submit", actor=legal)
    hand_over_evidence(
        concluded, actor=legal, evidence_ids=[Evidence.objects.get().pk], note=handover
    )
    apply_referral_transition(concluded, "conclude", actor=legal, payload={"outcome": outcome})
    withdrawn, _ = create_referral(incident, actor=legal, data={"authority": "cyber_police"})
    apply_referral_transition(withdrawn, "withdraw", actor=legal, payload={"reason": reason})
    obligation = incident.obligations.first()  # one is enough: every note renders alike
    apply_obligation_transition(obligation, "fulfil", actor=legal, payload={"note": note})

    pdf, _ = fetch_dossier(api("legal"), incident.reference)
    assert_drawn_whole(
        pdf,
        incident.title,
        incident.summary,
        incident.source_details,
        restoration,
        Evidence.objects.get().original_name,
        authority,
        outcome,
        reason,
        handover,
        note,
    )


@contextlib.contextmanager
def shallow_stack(headroom: int) -> Iterator[None]:
    """Python's recursion limit only `headroom` frames above the caller, for the block."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + headroom)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


TRICKY = {
    **LONG_RUNS,
    "combining marks": "-\u0301" * 750,
    "zero-width non-joiners": "\u200c" * 1500,
    "isolates between runs": ("-" * 60 + "\u2067a\u2069") * 60,
    "nested isolates": "\u2067" * 20 + "-" * 3000 + "\u2069" * 20,
    "embeddings": ("\u202a" + "-" * 100 + "\u202c") * 20,
    "override": "\u202e" + "-" * 3000,
    "numbers and terminators": "5" + "%" * 3000,
    "scores of embeddings": "\u202b-" * 200,
}


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_a_persian_line_needs_only_a_shallow_stack_however_long_its_neutral_runs(text):
    pdf = _Pdf()
    pdf.add_page()
    # fpdf2 recurses once per character of a run of neutrals; marks keep every run within
    # NEUTRAL_RUN_LIMIT characters, so a thousand-character run must fit in a shallow stack.
    with shallow_stack(NEUTRAL_RUN_LIMIT + 50):
        pdf.text_line(f"خلاصه / Summary: {text}")
    assert_drawn_whole(bytes(pdf.output()), "خلاصه / Summary:", text)


@pytest.mark.parametrize(
    "text",
    [
        PERSIAN_TITLE,
        "سلام دنیا پرونده",
        "خلاصه / Summary: سرور «shop-db» در ساعت ۱۴:۳۰ (1405/01/01) از دسترس خارج شد...",
        f"تاریخ تهیه / Prepared: {when(None)} -- ok" + " " * NEUTRAL_RUN_LIMIT + "x",
    ],
)
def test_ordinary_text_reaches_fpdf_unchanged(text):
    assert bound_neutral_runs(text, direction_of(text)) == text


def test_a_long_run_gets_invisible_marks_and_nothing_else():
    text = "پرونده " + "-" * 1000 + " ok"
    marked = bound_neutral_runs(text, direction_of(text))
    assert marked.translate(dict.fromkeys(map(ord, "\u200e\u200f\u061c"))) == text
    runs = re.split("[\u200e\u200f\u061c]", marked)
    assert len(runs) > 1000 // NEUTRAL_RUN_LIMIT
    assert max(len(run) for run in runs) <= NEUTRAL_RUN_LIMIT + len("پرونده ")


ZERO_WIDTH_CHARS = {
    "zwnj": "\u200c",
    "zero-width space": "\u200b",
    "combining acute": "\u0301",
    "variation selector": "\ufe0f",
    "tag letter": "\U000e0041",
}


@pytest.mark.parametrize("char", ZERO_WIDTH_CHARS.values(), ids=ZERO_WIDTH_CHARS.keys())
def test_a_long_run_of_zero_width_characters_reaches_fpdf_cut_short(monkeypatch, char):
    drawn = []
    monkeypatch.setattr(_Pdf, "multi_cell", lambda self, w, h, text, **kw: drawn.append(text))
    pdf = _Pdf()
    pdf.add_page()
    pdf.text_line("نشت" + char * 20000 + "داده")
    assert drawn == ["نشت" + char * ZERO_WIDTH_RUN_LIMIT + "داده"]


@pytest.mark.parametrize("text", ["می\u200cخواهیم", "کِتابِ مُهِم", "👍🏽 ok", "a\u200b" * 500])
def test_zero_width_characters_in_ordinary_text_are_kept(text):
    assert trim_zero_width_runs(text) == text


def test_dossier_with_a_field_of_zero_width_characters_renders_and_exports_them_all(
    api, incident_in
):
    summary = "نشت " + "\u200b" * 20000
    summary = summary[:20000]
    incident = incident_in("scoping", summary=summary)
    fetch_dossier(api("legal"), incident.reference)
    bundle = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content)))
    assert json.loads(archive.read("incident.json"))["incident"]["summary"] == summary


def test_dossier_carries_investigation_notes_whole(api, incident_in, legal):
    """Notes are the investigation's own record: the PDF draws them, incident.json keeps them."""
    incident = incident_in("scoping")
    unit = "ردیابی «ورود» (۰۲:۱۴) " + "-" * 200 + " from 203.0.113.7\n"
    text = (unit * (NOTE_MAX_LENGTH // len(unit) + 1))[:NOTE_MAX_LENGTH].strip()
    add_note(incident, actor=legal, text=text)
    pdf, _zipped = fetch_dossier(api("legal"), incident.reference)
    assert_drawn_whole(pdf, text)
    bundle = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content)))
    exported = json.loads(archive.read("incident.json"))
    assert [e["data"] for e in exported["timeline"] if e["kind"] == "note"] == [{"text": text}]
