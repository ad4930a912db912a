"""The dossier legal hands to an authority: a PDF (Persian shaped right-to-left) and a ZIP with
the PDF, the evidence files, a JSON export and a SHA256SUMS manifest (`sha256sum -c` accepts it).

PDF: fpdf2 with HarfBuzz text shaping (uharfbuzz) joins Persian letters and orders mixed
Persian/Latin lines; the font is Noto Sans Arabic from a PyPI package (it also covers Latin
letters and digits), so no system font is needed on any machine.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import os
import re
import tempfile
import threading
import unicodedata
import zipfile
import zoneinfo
from pathlib import Path
from typing import IO, Any

import fontpkg_noto_sans_arabic
from django.conf import settings
from django.utils import timezone
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer
from fpdf import FPDF

from core import formats
from incidents.legal.dossier_bidi import bound_neutral_runs, direction_of, shapeable
from incidents.legal.dossier_export import export_json
from incidents.legal.dossier_notices import notice_lines
from incidents.legal.dossier_parts import DossierData, NoticeRecord, gather
from incidents.legal.evidence import EvidenceTampered, open_for_download
from incidents.models import Incident, VerificationRun
from incidents.notes import NOTE

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
ARABIC = re.compile("[\u0600-\u06ff]")
# Characters that take no width of their own: combining marks and format characters (ZWNJ, ZWJ,
# zero-width space, direction marks, variation selectors, tags). fpdf2 breaks lines by measuring
# the growing line again for each character it adds, and these never fill a line, so a run of
# them costs time quadratic in its length: 4,000 took seconds, a field's 20,000 minutes of one
# request thread. A PDF shows nothing more of a longer run; the JSON export keeps every one.
ZERO_WIDTH = ("Mn", "Me", "Cf")
ZERO_WIDTH_RUN_LIMIT = 16


def trim_zero_width_runs(text: str) -> str:
    """The text with each run of zero-width characters cut to ZERO_WIDTH_RUN_LIMIT."""
    kept, run = [], 0
    for char in text:
        run = run + 1 if unicodedata.category(char) in ZERO_WIDTH else 0
        if run <= ZERO_WIDTH_RUN_LIMIT:
            kept.append(char)
    return "".join(kept)


# fontTools narrates every subsetting step at INFO; one dossier would flood the log.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def font_path() -> Path:
    return next((fontpkg_noto_sans_arabic.ROOT / "files").glob("NotoSansArabic*.ttf"))


# functools.cache does not stop two request threads computing the same font at once.
_MAKING_FONTS = threading.Lock()


@functools.cache
def static_font(weight: int) -> str:
    """The packaged variable font pinned to one weight, made once per process: instancing
    costs a quarter second, which every PDF would otherwise pay twice.

    The first dossiers of a new process come in parallel: its threads take turns (the next finds
    the file made), and each writer (other processes too) writes its own temporary file and
    swaps it in whole, so nobody reads half a font or loses a file another writer moved."""
    folder = Path(settings.VAR_DIR) / "cache" / "fonts"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"NotoSansArabic-{weight}-{font_path().stat().st_size}.ttf"
    with _MAKING_FONTS:
        if not target.exists():
            font = instancer.instantiateVariableFont(
                TTFont(font_path()), {"wght": weight, "wdth": 100}
            )
            handle, partial = tempfile.mkstemp(dir=folder, prefix=f"{target.stem}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    font.save(out)
                os.replace(partial, target)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
    return str(target)


def when(value: dt.datetime | None) -> str:
    """Tehran time, Jalali then Gregorian: '1405/09/03 21:30 — 2026-11-24 21:30 (Tehran)'."""
    return formats.moment(value, zone=TEHRAN, fmt="both")


class _Pdf(FPDF):
    shape_persian = True  # off only to show, in a test, what shaping changes

    def __init__(self) -> None:
        super().__init__(format="A4")
        self.add_font("noto", "", static_font(400))
        self.add_font("noto", "B", static_font(700))
        self.set_text_shaping(True)
        self.set_auto_page_break(True, margin=15)
        self.set_font("noto", size=10)

    def text_line(self, text: str, *, size: float = 10, bold: bool = False) -> None:
        self.set_font("noto", "B" if bold else "", size)
        text = trim_zero_width_runs(text)
        persian = bool(ARABIC.search(text))
        # HarfBuzz is what joins Persian letters; Latin-only lines (most of a long timeline)
        # render the same without it, several times faster. A line fpdf2's bidi cannot take
        # (scores of explicit embeddings) goes unshaped: letters unjoined, but all there.
        shaped = persian and self.shape_persian and shapeable(text)
        if shaped:
            base = direction_of(text)
            self.set_text_shaping(True, direction="rtl" if base == "R" else "ltr")
            text = bound_neutral_runs(text, base)
        else:
            self.set_text_shaping(False)
        align = "R" if persian else "L"
        self.multi_cell(0, size * 0.6, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.text_line(text, size=13, bold=True)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("noto", "", 8)
        self.cell(0, 6, f"{self.page_no()}", align="C")


def _facts(pdf: _Pdf, incident: Incident) -> None:
    pdf.text_line(f"پرونده رخداد {incident.reference}", size=16, bold=True)
    pdf.text_line(f"Incident dossier {incident.reference}", size=12)
    pdf.text_line(f"تاریخ تهیه / Prepared: {when(timezone.now())}")
    pdf.heading("واقعیت‌ها و دامنه / Facts and scope")
    systems = ", ".join(f"{s.get('name')} ({s.get('hosting')})" for s in incident.affected_systems)
    for label, value in (
        ("عنوان / Title", incident.title),
        ("شدت / Severity", incident.get_severity_display()),
        ("وضعیت / State", incident.get_state_display()),
        ("کشف / Detected", when(incident.detected_at)),
        ("آگاهی / Aware", when(incident.aware_at)),
        ("منشأ / Attack vector", incident.get_attack_vector_display() or "—"),
        ("جزئیات منشأ / Source details", incident.source_details or "—"),
        ("دسته‌های داده / Data categories", ", ".join(incident.data_categories) or "—"),
        ("سامانه‌ها / Affected systems", systems or "—"),
        ("تعداد اشخاص / Subjects (estimate)", str(incident.affected_subjects_estimate or "—")),
        ("خطر بالا / High risk", "بله / yes" if incident.high_risk else "خیر / no"),
        ("خلاصه بازیابی / Restoration", incident.restoration_summary or "—"),
        ("دلیل عدم ارجاع / No-referral reason", incident.no_referral_reason or "—"),
        ("خلاصه / Summary", incident.summary or "—"),
    ):
        pdf.text_line(f"{label}: {value}")


def _timeline(pdf: _Pdf, data: DossierData) -> None:
    pdf.heading("گاه‌شمار / Timeline (Tehran time, Jalali — Gregorian)")
    for event in data.events:
        move = f" {event.from_state}  ->  {event.to_state}" if event.to_state else ""
        pdf.text_line(
            f"#{event.seq}  {when(event.created_at)}  {event.actor_username or '—'}  "
            f"{event.kind}{move}",
            size=9,
        )
        if event.kind == NOTE:
            pdf.text_line(event.data.get("text", ""), size=9)  # its own line: see below


# Free text (names, notes, outcomes) goes on lines of its own: a line mixing a Persian note
# with English labels is laid out right-to-left as a whole and reads scrambled.
def _referrals(pdf: _Pdf, data: DossierData) -> None:
    pdf.heading("ارجاع به مراجع / Referrals")
    for r in data.referrals:
        pdf.text_line(f"#{r.pk} {r.get_authority_display()}", size=10, bold=True)
        if r.authority_name:
            pdf.text_line(r.authority_name, size=9)
        pdf.text_line(
            f"state {r.state}; case number {r.case_number or '—'}; contact "
            f"{'recorded' if r.contact else '—'}",
            size=9,
        )
        for label, moment in (
            ("submitted", r.submitted_at),
            ("acknowledged", r.acknowledged_at),
            ("concluded", r.concluded_at),
        ):
            if moment:
                pdf.text_line(f"{label} {when(moment)}", size=9)
        for text in (r.outcome, r.withdrawn_reason):
            if text:
                pdf.text_line(text, size=9)
        handed = ", ".join(f"#{e.pk} {e.sha256[:16]}..." for e in r.evidence.all())
        if handed:
            pdf.text_line(f"evidence handed over: {handed}", size=9)
    if not data.referrals:
        pdf.text_line("—")


def _obligations(pdf: _Pdf, data: DossierData) -> None:
    pdf.heading("تکالیف قانونی / Legal obligations")
    for o in data.obligations:
        kind = " (company policy, not statute)" if o.rule.is_policy else ""
        pdf.text_line(f"{o.rule.code}{kind}: {o.step_name}  ->  {o.recipient}", size=9, bold=True)
        pdf.text_line(f"due {when(o.due_at)}; {o.state}", size=9)
        if o.decided_at:
            who = o.decided_by.username if o.decided_by else "—"
            document = f"; document: evidence #{o.document_id}" if o.document_id else ""
            pdf.text_line(f"{o.state} by {who} at {when(o.decided_at)}{document}", size=9)
        if o.note:
            pdf.text_line(o.note, size=9)
    if not data.obligations:
        pdf.text_line("—")


def _evidence(pdf: _Pdf, data: DossierData) -> None:
    pdf.heading("ادله / Evidence (SHA-256)")
    for e in data.evidence:
        pdf.text_line(e.original_name, size=9, bold=True)
        pdf.text_line(
            f"#{e.pk}, {e.size} bytes, uploaded by {e.uploaded_by.username} {when(e.uploaded_at)}",
            size=9,
        )
        pdf.text_line(f"   sha256 {e.sha256}", size=8)
        for c in e.custody.all():
            pdf.text_line(f"   {when(c.at)} {c.action} {c.actor_username} ({c.role})", size=8)
            if c.note:
                pdf.text_line(c.note, size=8)
    if not data.evidence:
        pdf.text_line("—")


def _access(pdf: _Pdf, data: DossierData) -> None:
    pdf.heading("سابقه دسترسی / Access log (who read what)")
    for a in data.access_records:
        pdf.text_line(
            f"{when(a.at)}  {a.username}  {a.kind}  {a.target or '—'}  {a.address or '—'}", size=8
        )
        if a.user_agent:
            pdf.text_line(a.user_agent, size=8)  # free text: its own line (see _referrals)
    if not data.access_records:
        pdf.text_line("—")


def _notices(pdf: _Pdf, record: NoticeRecord) -> None:
    pdf.heading("اطلاع‌رسانی به افراد آسیب‌دیده / Notice to affected people")
    for line in notice_lines(record, when):
        pdf.text_line(line.text, size=line.size, bold=line.bold)


def _verification(pdf: _Pdf, run: VerificationRun) -> None:
    pdf.heading("اعتبارسنجی سابقه / Record verification")
    verdict = "سالم / intact" if run.ok else f"شکسته / BROKEN at #{run.broken_seq}: {run.detail}"
    pdf.text_line(f"{verdict} — {run.checked} events checked, {when(run.finished_at)}")
    pdf.text_line(f"checkpoint {run.last_seq}:{run.last_hash}", size=8)


def render_pdf(data: DossierData) -> bytes:
    pdf = _Pdf()
    pdf.set_title(f"Dossier {data.incident.reference}")
    pdf.add_page()
    _facts(pdf, data.incident)
    _timeline(pdf, data)
    _referrals(pdf, data)
    _obligations(pdf, data)
    _notices(pdf, data.notices)
    _evidence(pdf, data)
    _access(pdf, data)
    _verification(pdf, data.verification)
    return bytes(pdf.output())


def _zip_name(evidence: Any) -> str:
    safe = re.sub(r"[^\w.\-]+", "_", evidence.original_name).strip("._")[:80] or "file"
    return f"evidence/{evidence.pk}-{safe}"


def build_zip(incident: Incident, *, actor: Any) -> IO[bytes]:
    """The ZIP as a temporary file (rewound). Each evidence file is read through the custody
    path (verified, recorded); a file whose hash fails is left out and listed as withheld."""
    data = gather(incident)
    sums: list[tuple[str, str]] = []
    out = tempfile.TemporaryFile()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        withheld = []
        for evidence in data.evidence:
            try:
                handle = open_for_download(evidence, actor=actor, note="dossier")
            except EvidenceTampered:
                withheld.append(evidence.pk)
                continue
            name = _zip_name(evidence)
            with handle, archive.open(name, "w", force_zip64=True) as target:
                while chunk := handle.read(1024 * 1024):
                    target.write(chunk)
            sums.append((evidence.sha256, name))
        for name, blob in (("dossier.pdf", render_pdf(data)), ("incident.json", export_json(data))):
            archive.writestr(name, blob)
            sums.append((hashlib.sha256(blob).hexdigest(), name))
        if withheld:
            archive.writestr(
                "WITHHELD.txt",
                "Evidence withheld (hash mismatch): " + ", ".join(map(str, withheld)) + "\n",
            )
        archive.writestr("SHA256SUMS", "".join(f"{digest}  {name}\n" for digest, name in sums))
    out.seek(0)
    return out
