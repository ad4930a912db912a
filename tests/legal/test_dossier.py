"""The dossier as a typeset document (issue 19, section 1): one language per document, every
label, event, state, category, authority and obligation in words of that language, Jalali dates
in Persian digits with the Gregorian beside them, a cover with the letterhead, the addressee and
a table of contents, "page n of m" on every page; read back from the PDF's text. Screenshots of
the pages in both languages go to VAR_DIR/screenshots/. The ZIP carries the PDF, the evidence, a
JSON export and a SHA256SUMS that sha256sum accepts. Any text a user can store renders whole."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import fontpkg_ibm_plex_sans
import fontpkg_ibm_plex_sans_arabic
import polib
import pypdfium2
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from fontTools.ttLib import TTFont
from rest_framework.test import APIClient

from core.models import Profile
from incidents.choices import AttackVector, Authority, DataCategory, State
from incidents.labels import EVENT_LABELS
from incidents.legal import dossier
from incidents.legal.obligations import apply_obligation_transition
from incidents.legal.record import verify_record
from incidents.legal.record_signing import public_key_fingerprint
from incidents.legal.referrals import apply_referral_transition, create_referral, hand_over_evidence
from incidents.lifecycle import update_incident
from incidents.models import (
    CheckpointReason,
    CustodyEntry,
    Evidence,
    Incident,
    Obligation,
    RecordCheckpoint,
    Referral,
)
from incidents.notes import NOTE_MAX_LENGTH, add_note
from tests.legal.dossier_case import CASE_NUMBER, CONTACT, LOG_NAME, NOTE, walkthrough_incident

pytestmark = pytest.mark.django_db

ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069"))


def pages_text(pdf_bytes: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        # get_text_range recurses once per trailing unmapped character (combining marks).
        return [page.get_textpage().get_text_bounded().translate(ISOLATES) for page in document]
    finally:
        document.close()


def pdf_text(pdf_bytes: bytes) -> str:
    return "".join(pages_text(pdf_bytes))


def folded(text: str) -> str:
    """Whitespace folded (lines wrap, table cells break)."""
    return " ".join(text.split())


def in_order(text: str, *phrases: str) -> bool:
    """Each phrase in the text, each after the one before."""
    at = 0
    for phrase in phrases:
        at = text.find(phrase, at)
        if at < 0:
            return False
        at += len(phrase)
    return True


def dossier_pdf(client: APIClient, reference: str, **query: str) -> bytes:
    response = client.get(f"/api/incidents/{reference}/dossier.pdf", query)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return response.content


def words_in(language: str, *labels: object) -> list[str]:
    with translation.override(language):
        return [str(label) for label in labels]


@pytest.fixture
def walkthrough(users, media, settings):
    settings.COMPANY_NAME = "Example Shop Ltd."
    settings.COMPANY_NAME_FA = "شرکت فروشگاه نمونه"
    settings.COMPANY_ADDRESS = "12 Valiasr St., Tehran 1234567890"
    settings.COMPANY_ADDRESS_FA = "تهران، خیابان ولیعصر، پلاک ۱۲، کد پستی ۱۲۳۴۵۶۷۸۹۰"
    return walkthrough_incident(users)


def test_english_dossier_reads_in_words_in_order(api, walkthrough):
    pdf = dossier_pdf(api("legal"), walkthrough.reference, lang="en")
    text = folded(pdf_text(pdf))
    assert in_order(
        text,
        "Example Shop Ltd.",
        "Incident dossier",
        "Contents",
        "Facts and scope",
        "Notice to the people affected",
        "Timeline",
        "Referrals to authorities",
        "Legal obligations",
        "Evidence and chain of custody",
        "Who read this incident",
        "The record and how to verify it",
        "Signature",
    )
    for words in (
        "Misconfiguration",
        "Identity (names), Contact (mobile number, email), Postal address",
        "backup-bucket (Service provider)",
        "1,200",
        "Cyber police (FATA) — FATA",
        CASE_NUMBER,
        CONTACT,
        NOTE,
        "Notify the people affected",
        "Company policy, not statute",
        "Proof: " + LOG_NAME,
        "2026-11-24 02:10",  # detected, Tehran time, as the walkthrough logged it
    ):
        assert words in text, words
    # The timeline in words, in the record's order: events, states, who.
    assert in_order(
        text,
        "New incident (Detected)",
        "Scoping started (Detected → Scoping)",
        "Changed: attack vector, affected systems, affected-people estimate, data categories",
        "Note: " + NOTE,
        "Evidence uploaded",
        "Restoration started (Scoping → Restoring)",
        "Restored (Restoring → Restored)",
        "Referred to an authority (Restored → Referred)",
        "Referral acknowledged by the authority",
        "Evidence handed over",
        "Obligation fulfilled",
    )
    for machine_name in ("obligation.fulfil", "postal_address", "cyber_police", "evidence #", "->"):
        assert machine_name not in text
    # Evidence by name, size, hash and custody.
    log = Evidence.objects.get(original_name=LOG_NAME)
    assert in_order(text, LOG_NAME, "46.9 KB (48,000 bytes)", log.sha256, "Uploaded", "engineer")
    assert in_order(text, "Handed over", "legal", "handed on a USB stick")


def test_persian_dossier_reads_in_persian_logical_order(api, walkthrough):
    pdf = dossier_pdf(api("legal"), walkthrough.reference, lang="fa")
    text = folded(pdf_text(pdf))
    # Words without a ligature come out exactly as written: letters and words in logical
    # (reading) order, not in the visual order a right-to-left line is drawn in.
    assert "تهران" in text and "خیابان" in text
    state, category, vector = words_in(
        "fa",
        State.REFERRED.label,
        DataCategory.IDENTITY.label,
        AttackVector.MISCONFIGURATION.label,
    )
    for phrase in (state, category, vector):
        assert same_words(phrase, text), phrase
    # Jalali dates in Persian digits, the Gregorian date beside them in ASCII digits.
    # (pdfium gives a date and a time in a right-to-left line in either order.)
    assert "۱۴۰۵/۰۹/۰۳" in text and "۰۲:۱۰" in text and "2026-11-24" in text and "02:10" in text
    # Event kinds, the authority and the data categories in Persian words, never machine names.
    for label in words_in(
        "fa",
        EVENT_LABELS["start_scoping"],
        EVENT_LABELS["obligation.fulfil"],
        Authority.CYBER_POLICE.label,
        DataCategory.POSTAL_ADDRESS.label,
    ):
        assert same_words(label, text), label
    for machine_name in ("obligation.fulfil", "postal_address", "cyber_police", "Timeline"):
        assert machine_name not in text
    # Latin names and codes are there (pdfium gives a code inside a right-to-left line in
    # pieces: "-2026-0001INC"; on the page it reads INC-2026-0001).
    assert (
        LOG_NAME in text and has_code(CASE_NUMBER, text) and has_code(walkthrough.reference, text)
    )


def has_code(code: str, text: str) -> bool:
    return code in text or all(part in text for part in re.split(r"\W+", code))


# PDF text extraction (pdfium) gives a right-to-left ligature's letters in reverse (لا as ال);
# the words and their order are what the reader copies, so compare words by their letters.
def same_words(phrase: str, text: str) -> bool:
    def words(line: str) -> list[str]:
        kept = "".join(c for c in line if c != "\u200c" and unicodedata.category(c) != "Mn")
        return ["".join(sorted(word)) for word in re.findall(r"\w+", kept)]

    wanted, found = words(phrase), words(text)
    return any(found[i : i + len(wanted)] == wanted for i in range(len(found)))


@pytest.mark.parametrize(
    ("language", "footer"),
    [("en", "Page {n} of {m}"), ("fa", "صفحهٔ {n} از {m}")],
)
def test_every_page_says_page_n_of_m_in_its_language(api, walkthrough, language, footer):
    pages = pages_text(dossier_pdf(api("legal"), walkthrough.reference, lang=language))
    assert len(pages) >= 3
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹") if language == "fa" else {}
    for n, page in enumerate(pages, start=1):
        expected = footer.format(n=n, m=len(pages)).translate(digits)
        assert expected in folded(page) or same_words(expected, folded(page)), (n, page[-200:])
        assert has_code(walkthrough.reference, page)  # the running reference


def test_contents_give_each_sections_page(api, walkthrough):
    pdf = dossier_pdf(api("legal"), walkthrough.reference, lang="en")
    pages = pages_text(pdf)
    contents = folded(pages[0])
    for heading in ("Timeline", "Legal obligations", "Signature"):
        # The heading as a line of its own ("Signature" also begins a row of the record's).
        page = next(
            n
            for n, text in enumerate(pages[1:], start=2)
            if heading in (line.strip() for line in text.splitlines())
        )
        assert re.search(rf"{heading}\W*\.*\s*{page}\b", contents), (heading, page, contents)


def test_dossier_for_a_referral_is_addressed_to_its_authority(api, walkthrough, legal):
    referral = walkthrough.referrals.get()
    other, _ = create_referral(
        walkthrough, actor=legal, data={"authority": "cybercrime_prosecutor"}
    )
    pdf = dossier_pdf(api("legal"), walkthrough.reference, lang="en", referral=str(referral.pk))
    cover = folded(pages_text(pdf)[0])
    assert in_order(cover, "To", "Cyber police (FATA) — FATA", CASE_NUMBER, CONTACT, "From")
    pdf = dossier_pdf(api("legal"), walkthrough.reference, lang="en", referral=str(other.pk))
    assert in_order(folded(pages_text(pdf)[0]), "To", "Computer-crimes prosecutor", "From")
    unaddressed = folded(pages_text(dossier_pdf(api("legal"), walkthrough.reference))[0])
    assert "Whom it may concern" in unaddressed or "Whom" not in unaddressed


def test_bad_language_or_a_referral_of_another_incident_is_a_400(api, walkthrough, incident_in):
    url = f"/api/incidents/{walkthrough.reference}/dossier.pdf"
    assert api("legal").get(url, {"lang": "de"}).status_code == 400
    elsewhere = incident_in("referred").referrals.get()
    answer = api("legal").get(url, {"referral": str(elsewhere.pk)})
    assert answer.status_code == 400 and "referral" in answer.json()
    assert api("legal").get(url, {"referral": "x"}).status_code == 400


def test_the_readers_language_is_the_default(api, users, walkthrough):
    Profile.objects.update_or_create(user=users["legal"], defaults={"language": "en"})
    text = pdf_text(dossier_pdf(api("legal"), walkthrough.reference))
    assert "Incident dossier" in text
    Profile.objects.filter(user=users["legal"]).update(language="fa")
    response = api("legal").get(f"/api/incidents/{walkthrough.reference}/dossier.pdf")
    assert response["Content-Language"] == "fa"
    text = pdf_text(response.content)
    assert "Page 1 of" not in text and same_words("صفحهٔ ۱ از", text)


def test_every_export_prints_the_checkpoint_it_signed(api, walkthrough):
    text = folded(pdf_text(dossier_pdf(api("legal"), walkthrough.reference, lang="en")))
    checkpoint = RecordCheckpoint.objects.filter(why=CheckpointReason.EXPORT).latest("id")
    assert checkpoint.incident_reference == walkthrough.reference
    compact = text.replace(" ", "")
    assert "Signing key" in text and public_key_fingerprint() in compact
    assert checkpoint.signature in compact and f"{checkpoint.seq}:{checkpoint.hash}" in compact
    assert "record/verify_record.py" in compact
    # and the signature holds for what it says it signed
    assert verify_record(source="test").ok


def test_pages_of_both_languages_are_saved_as_screenshots(api, walkthrough):
    """Test artifacts to look at: VAR_DIR/screenshots/dossier-<lang>-<page>.png."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for language in ("fa", "en"):
        for old in folder.glob(f"dossier-{language}-*.png"):
            old.unlink()
        document = pypdfium2.PdfDocument(
            dossier_pdf(api("legal"), walkthrough.reference, lang=language)
        )
        for n, page in enumerate(document, start=1):
            image = page.render(scale=1.5).to_pil()
            image.save(folder / f"dossier-{language}-{n}.png")
            assert image.convert("L").getextrema()[0] < 100  # something is drawn
        document.close()
        assert (folder / f"dossier-{language}-1.png").exists()


TEMPLATES = Path(dossier.__file__).resolve().parent.parent / "templates" / "incidents" / "print"
TRANSLATE = re.compile(r'{%\s*translate\s+"([^"]+)"')
BLOCK = re.compile(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*(?:plural|endblocktranslate)", re.S)


def test_every_word_of_the_print_templates_has_a_persian_translation():
    catalogue = polib.pofile(str(Path(settings.BASE_DIR) / "locale/fa/LC_MESSAGES/django.po"))
    translated = {entry.msgid for entry in catalogue if entry.msgstr and not entry.obsolete}
    wanted = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        wanted |= set(TRANSLATE.findall(source))
        for block in BLOCK.findall(source):
            wanted.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", block))
    missing = sorted(wanted - translated)
    assert not missing, f"no Persian for: {missing}"


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
    response = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip?lang=en")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert "dossier.pdf" in names and "incident.json" in names and "SHA256SUMS" in names
    assert "Incident dossier" in pdf_text(archive.read("dossier.pdf"))  # in the language asked
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
    # The record's proof rides along, in SHA256SUMS too, and the verifier in it passes offline.
    proof = {"record/checkpoints.json", "record/events.json", "record/public-key.pem"}
    assert proof | {"record/verify_record.py"} <= set(names)
    listed = (tmp_path / "out" / "SHA256SUMS").read_text()
    assert all(f"  {name}\n" in listed for name in proof)
    verified = subprocess.run(
        [sys.executable, "record/verify_record.py", "incident.json", "record"],
        cwd=tmp_path / "out",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


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


# Runs of characters that are not letters (punctuation, symbols, emoji, spaces), and Persian
# words between them: the old engine's recursive bidi resolution failed on them (a 500).
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
    "percent signs": "%" * 1000,
    "persian and punctuation": MIXED,
    "isolates between runs": ("-" * 60 + "\u2067a\u2069") * 60,
    "override": "\u202e" + "-" * 3000,
    "combining marks": "-\u0301" * 750,
}


def packaged_glyphs() -> set[int]:
    fonts = [
        *(fontpkg_ibm_plex_sans_arabic.ROOT / "files").glob("IBMPlexSansArabic-Regular.ttf"),
        *(fontpkg_ibm_plex_sans.ROOT / "files").glob("IBMPlexSans[[]*.ttf"),
    ]
    return {code for font in fonts for code in TTFont(font).getBestCmap()}


def assert_drawn_whole(pdf_bytes: bytes, *texts: str) -> None:
    """Every visible character of the texts is in the PDF's text as often as in the texts
    (order aside: lines wrap, right-to-left runs, brackets mirrored). Characters the packaged
    fonts have no glyph for (emoji) are left out."""
    glyphs = packaged_glyphs()
    wanted = Counter(
        c
        for c in "".join(texts)
        if ord(c) in glyphs and not c.isspace() and unicodedata.category(c) not in ("Cf", "Mn")
    )
    missing = wanted - Counter(pdf_text(pdf_bytes))
    assert not missing, f"missing from the PDF: {dict(missing)}"


def fetch_dossier(client: APIClient, reference: str) -> tuple[bytes, bytes]:
    """The PDF from dossier.pdf and the one inside dossier.zip, each checked to be a PDF."""
    pdf = dossier_pdf(client, reference)
    bundle = client.get(f"/api/incidents/{reference}/dossier.zip")
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content)))
    assert archive.testzip() is None
    zipped = archive.read("dossier.pdf")
    for one in (pdf, zipped):
        assert one.startswith(b"%PDF-")
        document = pypdfium2.PdfDocument(one)  # raises PdfiumError on a damaged file
        assert len(document) >= 1
        document.close()
    return pdf, zipped


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
            "contact": longest(Referral, "contact", lines=False),
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


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u0301", "\ufe0f"])
def test_dossier_with_a_field_of_zero_width_characters_renders_and_exports_them_all(
    api, incident_in, char
):
    summary = ("نشت " + char * 20000)[:20000]
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


def test_moments_read_jalali_with_gregorian_beside_in_persian_and_gregorian_in_english():
    from django.template import Context, Template

    moment = dt.datetime(2026, 3, 20, 20, 30, tzinfo=dt.UTC)  # 00:00 next day in Tehran
    template = Template("{% load typeset %}{{ moment|moment }}")
    with translation.override("fa"):
        persian = template.render(Context({"moment": moment}))
    with translation.override("en"):
        english = template.render(Context({"moment": moment}))
    assert "۱۴۰۵/۰۱/۰۱ ۰۰:۰۰" in persian and '<span class="gregorian">2026-03-21 00:00' in persian
    assert english == "2026-03-21 00:00"


def test_the_letterhead_carries_the_configured_logo(api, walkthrough, settings, tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 120), (29, 53, 87)).save(logo)
    settings.COMPANY_LOGO = str(logo)
    document = pypdfium2.PdfDocument(dossier_pdf(api("legal"), walkthrough.reference, lang="en"))
    images = list(document[0].get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]))
    assert len(images) == 1
    _left, _bottom, right, top = images[0].get_bounds()
    assert right < document[0].get_width() / 3 and top > document[0].get_height() * 0.8
    document.close()
