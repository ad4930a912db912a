"""The dossier: the PDF renders Persian shaped right-to-left (checked on a rendered page), and
the ZIP carries the PDF, the evidence, a JSON export and a SHA256SUMS that sha256sum accepts."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pypdfium2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from incidents.dossier import _Pdf, when
from incidents.models import CustodyEntry, Evidence

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
    assert incident.reference in text and "checkpoint " in text  # the verification section
    assert "1405/" in text or "1404/" in text  # Jalali dates beside the Gregorian ones


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
