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
import json
import logging
import os
import re
import tempfile
import unicodedata
import zipfile
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import fontpkg_noto_sans_arabic
import jdatetime
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer
from fpdf import FPDF
from fpdf.bidi import auto_detect_base_direction
from fpdf.enums import TextDirection

from incidents.evidence import EvidenceTampered, open_for_download
from incidents.models import Incident, VerificationRun
from incidents.record import verify_record

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
ARABIC = re.compile("[\u0600-\u06ff]")


# fpdf2 (2.8) resolves a shaped paragraph's bidi classes recursively: next_strong and
# previous_strong (rules N0-N2) and next_is_en (W5) call themselves once per character of a run
# of characters that are not strong (punctuation, spaces, symbols, emoji, combining marks, ZWNJ),
# so a thousand dashes exceed Python's recursion limit, and every run costs time quadratic in its
# length. An invisible mark of the direction the run resolves to, every NEUTRAL_RUN_LIMIT
# characters, keeps each run short without moving any of it: the neutrals either side of the mark
# still find strong neighbours that agree or disagree as before (N1, N2). Only such long runs get
# marks; there, a bracket pair around the run may still turn the other way (N0 counts the mark).
NEUTRAL_RUN_LIMIT = 64
# The direction each strong class counts as in N1 / N2 (an EN after an L counts as L: rule W7).
STRONG = {"L": "L", "R": "R", "AL": "R", "AN": "R", "EN": "R"}
MARKS = {"L": "\u200e", "R": "\u200f", "AL": "\u061c"}  # LRM, RLM, ALM (the font has all three)
OPENERS = {"LRE": "L", "LRO": "L", "LRI": "L", "RLE": "R", "RLO": "R", "RLI": "R", "FSI": ""}
ISOLATES = ("LRI", "RLI", "FSI")
NOT_OVERRIDDEN = ("B", "BN", "RLE", "LRE", "RLO", "LRO", "PDF", "FSI", "PDI")  # rule X6
# With at most this many explicit embedding / isolate controls, nesting stays within fpdf2's 125
# levels (past them it folds isolates into their surroundings, which _groups does not model),
# and each FSI's scan of the rest of the paragraph stays cheap.
MAX_EXPLICIT = 60

Char = tuple[int, str, int]  # (index in the text, bidi class after overrides, embedding level)


def direction_of(text: str, *, stop_at_pdi: bool = False) -> str:
    """The direction of the text's first strong letter, as fpdf2 would guess it (rule P2)."""
    found = auto_detect_base_direction(text, stop_at_pdi=stop_at_pdi)
    return "R" if found == TextDirection.RTL else "L"


def _side(level: int) -> str:
    return "R" if level % 2 else "L"


def shapeable(text: str) -> bool:
    """Whether fpdf2's bidi can take the text once its neutral runs are bounded."""
    explicit = (*OPENERS, "PDF", "PDI")
    return sum(unicodedata.bidirectional(c) in explicit for c in text) <= MAX_EXPLICIT


def _groups(text: str, base: int) -> list[list[Char]]:
    """The characters with the levels fpdf2 gives them (rules X1-X8), grouped as it joins them:
    an isolate's content apart, the text around it running on across the isolate.
    Precondition: shapeable(text)."""
    groups: list[list[Char]] = [[]]
    open_groups = [0]
    frames = [(base, True, "")]  # (level, is an isolate, override); the paragraph counts as one
    for index, char in enumerate(text):
        kind = unicodedata.bidirectional(char)
        if kind == "PDI" and len(open_groups) > 1:
            open_groups.pop()
            while not frames.pop()[1]:
                pass
        outer = frames[-1]
        if kind in OPENERS:
            direction = OPENERS[kind] or direction_of(text[index + 1 :], stop_at_pdi=True)
            level = (outer[0] + 1) | 1 if direction == "R" else (outer[0] + 2) & ~1
            frames.append((level, kind in ISOLATES, direction if kind[2] == "O" else ""))
        elif kind == "PDF" and not frames[-1][1]:
            frames.pop()
        level = base if kind == "B" else outer[0] if kind in ISOLATES else frames[-1][0]
        overridden = outer[2] and kind not in NOT_OVERRIDDEN
        groups[open_groups[-1]].append((index, outer[2] if overridden else kind, level))
        if kind in ISOLATES:
            open_groups.append(len(groups))
            groups.append([])
    return groups


def _cuts(run: list[Char]) -> list[int]:
    """Where to put marks in a run of neutrals: at most NEUTRAL_RUN_LIMIT apart, never before a
    PDI (the mark would land inside the isolate that PDI closes; a run has no NEUTRAL_RUN_LIMIT
    of them in a row, MAX_EXPLICIT being lower), and preferably not inside a cluster (before a
    combining mark or a joiner, or right after a joiner)."""
    cuts, start = [], 0
    while len(run) - start > NEUTRAL_RUN_LIMIT:
        window = range(start + NEUTRAL_RUN_LIMIT, start, -1)
        allowed = [at for at in window if run[at][1] != "PDI"]
        tidy = [
            at
            for at in allowed[: NEUTRAL_RUN_LIMIT // 2]
            if run[at][1] not in ("NSM", "BN") and run[at - 1][1] != "BN"
        ]
        start = (tidy or allowed)[0]
        cuts.append(run[start][0])
    return cuts


def _marks(sos: str, chars: list[Char], eos: str) -> dict[int, str]:
    """The marks one isolating run sequence needs, by the index of the character each precedes."""
    marks: dict[int, str] = {}
    before = last_lra = sos  # the last strong direction; the last L / R / AL (rules W2, W7)
    run: list[Char] = []
    for char in [*chars, (-1, "", 0)]:
        index, kind, _ = char
        if index >= 0 and kind not in STRONG:
            run.append(char)
            continue
        after = eos if index < 0 else "L" if kind == "EN" and last_lra == "L" else STRONG[kind]
        if len(run) > NEUTRAL_RUN_LIMIT:
            resolved = before if before == after else _side(run[0][2])
            mark = MARKS["AL" if resolved == "R" and last_lra == "AL" else resolved]
            marks.update(dict.fromkeys(_cuts(run), mark))
        run, before = [], after
        if kind in ("L", "R", "AL"):
            last_lra = kind
    return marks


def bound_neutral_runs(text: str, base: str) -> str:
    """The text with an invisible directional mark in every run of more than NEUTRAL_RUN_LIMIT
    non-strong characters; unchanged (every ordinary line) when it has no such run. Render it
    with `base` (the text's own direction_of) as the paragraph direction: a mark may come before
    the first strong letter, and must not change it. Precondition: shapeable(text)."""
    marks: dict[int, str] = {}
    # filter: an isolate opened by the last character has no content.
    for group in filter(None, _groups(text, 1 if base == "R" else 0)):
        levels = [level for _, _, level in group]
        # A level change ends one run sequence; either side takes the higher level's direction.
        starts = [0, *(at for at in range(1, len(group)) if levels[at] != levels[at - 1])]
        for start, end in zip(starts, [*starts[1:], len(group)], strict=True):
            sos = _side(max(levels[start], levels[start - 1] if start else 0))
            eos = _side(max(levels[end - 1], levels[end] if end < len(group) else 0))
            marks.update(_marks(sos, group[start:end], eos))
    if not marks:
        return text
    return "".join(marks.get(index, "") + char for index, char in enumerate(text))


# fontTools narrates every subsetting step at INFO; one dossier would flood the log.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def font_path() -> Path:
    return next((fontpkg_noto_sans_arabic.ROOT / "files").glob("NotoSansArabic*.ttf"))


@functools.cache
def static_font(weight: int) -> str:
    """The packaged variable font pinned to one weight, made once per process: instancing
    costs a quarter second, which every PDF would otherwise pay twice."""
    folder = Path(settings.VAR_DIR) / "cache" / "fonts"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"NotoSansArabic-{weight}-{font_path().stat().st_size}.ttf"
    if not target.exists():
        font = instancer.instantiateVariableFont(TTFont(font_path()), {"wght": weight, "wdth": 100})
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        font.save(partial)
        os.replace(partial, target)  # atomic: a parallel process never reads half a font
    return str(target)


def when(moment: dt.datetime | None) -> str:
    """Tehran time, Jalali then Gregorian: '1405/09/03 21:30 — 2026-11-24 21:30 (Tehran)'."""
    if moment is None:
        return "—"
    local = moment.astimezone(TEHRAN)
    jalali = jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")
    return f"{jalali} — {local:%Y-%m-%d %H:%M} (Tehran)"


@dataclass
class DossierData:
    incident: Incident
    verification: VerificationRun

    @property
    def events(self) -> list[Any]:
        return list(self.incident.events.order_by("seq"))

    @property
    def referrals(self) -> list[Any]:
        return list(self.incident.referrals.prefetch_related("evidence"))

    @property
    def obligations(self) -> list[Any]:
        return list(self.incident.obligations.select_related("rule", "decided_by"))

    @property
    def evidence(self) -> list[Any]:
        items = self.incident.evidence.select_related("uploaded_by")
        return list(items.prefetch_related("custody"))


def gather(incident: Incident) -> DossierData:
    """Verify the record now (stored like any verification) and collect the incident's parts."""
    return DossierData(incident=incident, verification=verify_record(source="dossier"))


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
    _evidence(pdf, data)
    _verification(pdf, data.verification)
    return bytes(pdf.output())


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def export(data: DossierData) -> dict[str, Any]:
    """The machine-readable twin of the PDF (times in UTC, ISO 8601)."""
    incident = data.incident
    run = data.verification
    return {
        "incident": _fields(
            incident,
            (
                "reference",
                "title",
                "summary",
                "severity",
                "state",
                "detected_at",
                "aware_at",
                "scoping_started_at",
                "restoring_started_at",
                "restored_at",
                "referred_at",
                "closed_at",
                "attack_vector",
                "source_details",
                "data_categories",
                "affected_systems",
                "affected_subjects_estimate",
                "high_risk",
                "restoration_summary",
                "no_referral_reason",
            ),
        ),
        "timeline": [
            {
                **_fields(
                    e,
                    (
                        "seq",
                        "kind",
                        "created_at",
                        "from_state",
                        "to_state",
                        "data",
                        "prev_hash",
                        "hash",
                    ),
                ),
                "actor": e.actor_username,
            }
            for e in data.events
        ],
        "referrals": [
            {
                **_fields(
                    r,
                    (
                        "id",
                        "state",
                        "authority",
                        "authority_name",
                        "case_number",
                        "contact",
                        "notes",
                        "outcome",
                        "withdrawn_reason",
                        "submitted_at",
                        "acknowledged_at",
                        "concluded_at",
                    ),
                ),
                "evidence": [e.pk for e in r.evidence.all()],
            }
            for r in data.referrals
        ],
        "obligations": [
            {
                **_fields(
                    o,
                    (
                        "id",
                        "step_key",
                        "step_name",
                        "recipient",
                        "due_at",
                        "state",
                        "note",
                        "decided_at",
                        "document_id",
                    ),
                ),
                "rule": o.rule.code,
                "company_policy": o.rule.is_policy,
                "decided_by": o.decided_by.username if o.decided_by else None,
            }
            for o in data.obligations
        ],
        "evidence": [
            {
                **_fields(
                    e,
                    (
                        "id",
                        "original_name",
                        "content_type",
                        "size",
                        "sha256",
                        "uploaded_at",
                        "integrity_failed_at",
                    ),
                ),
                "uploaded_by": e.uploaded_by.username,
                "custody": [
                    {
                        **_fields(c, ("at", "action", "role", "note", "referral_id")),
                        "actor": c.actor_username,
                    }
                    for c in e.custody.all()
                ],
            }
            for e in data.evidence
        ],
        "verification": _fields(
            run, ("ok", "checked", "last_seq", "last_hash", "broken_seq", "detail", "finished_at")
        ),
    }


def export_json(data: DossierData) -> bytes:
    body = export(data)
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


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
