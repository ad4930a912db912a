"""The dossier legal hands to an authority: a typeset PDF in one language (Persian or English,
incidents/print/dossier.html on the engine of incidents/legal/typeset.py) and a ZIP with the
PDF, the evidence files, a JSON export and a SHA256SUMS manifest (`sha256sum -c` accepts it).

The PDF is addressed: exported for a referral (``referral``), its cover names that referral's
authority as the addressee."""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from typing import IO, Any

from django.conf import settings
from django.utils import timezone, translation

from incidents.legal import typeset
from incidents.legal.dossier_export import export_json
from incidents.legal.dossier_notices import notice_section
from incidents.legal.dossier_parts import DossierData, gather
from incidents.legal.dossier_timeline import Names, timeline
from incidents.legal.evidence import EvidenceTampered, open_for_download
from incidents.legal.record_proof import proof_files
from incidents.legal.record_signing import sign_checkpoint
from incidents.models import Incident, RecordCheckpoint, Referral

TEMPLATE = "incidents/print/dossier.html"


def render_pdf(
    data: DossierData,
    *,
    language: str,
    referral: Referral | None = None,
    checkpoint: RecordCheckpoint | None = None,
) -> bytes:
    """The dossier in ``language`` ("fa" or "en"), addressed to ``referral``'s authority when
    one is given (a referral of the same incident: the caller checks), printing the signed
    ``checkpoint`` of its export when one is given."""
    page = context(data, language, referral, checkpoint)
    return typeset.render_pdf(TEMPLATE, page, language=language)


def export_pdf(incident: Incident, *, language: str, referral: Referral | None = None) -> bytes:
    """The PDF of an export: the record's head signed first (incidents/legal/record_signing.py,
    with this incident's events), then the parts gathered and the signature printed."""
    checkpoint = sign_checkpoint(incident=incident)
    return render_pdf(gather(incident), language=language, referral=referral, checkpoint=checkpoint)


def context(
    data: DossierData,
    language: str,
    referral: Referral | None,
    checkpoint: RecordCheckpoint | None = None,
) -> dict[str, Any]:
    """Everything the template reads, gathered once (a handful of queries however long the
    timeline), with the timeline and the notices put in words of ``language``."""
    incident = data.incident
    evidence, obligations, referrals = data.evidence, data.obligations, data.referrals
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        events = data.events
        rows = list(timeline(events, Names.of(evidence, obligations, events)))
        notices = notice_section(data.notices, language)
        review = data.review
    return {
        "incident": incident,
        "document_reference": incident.reference,
        "prepared_at": timezone.now(),
        "time_zone": settings.TIME_ZONE,
        "addressee": referral,
        "systems": incident.affected_systems,
        "timeline": rows,
        "referrals": referrals,
        "obligations": obligations,
        "evidence": evidence,
        "evidence_names": {e.pk: e.original_name for e in evidence},
        "notices": notices,
        "review": review,
        "access_records": data.access_records,
        "verification": data.verification,
        **signed_checkpoint(checkpoint),
    }


def signed_checkpoint(checkpoint: RecordCheckpoint | None) -> dict[str, Any]:
    """The signed checkpoint of this export (incidents/legal/record_signing.py):
    ``signed_checkpoint`` itself, ``signing_key_fingerprint`` and ``checkpoint_signature``, which
    the template prints in the section "The record" only when they are given."""
    if checkpoint is None or not checkpoint.signature:
        return {}
    return {
        "signed_checkpoint": checkpoint,
        "signing_key_fingerprint": checkpoint.key_fingerprint,
        "checkpoint_signature": checkpoint.signature,
    }


def _zip_name(evidence: Any) -> str:
    safe = re.sub(r"[^\w.\-]+", "_", evidence.original_name).strip("._")[:80] or "file"
    return f"evidence/{evidence.pk}-{safe}"


def build_zip(
    incident: Incident, *, actor: Any, language: str, referral: Referral | None = None
) -> IO[bytes]:
    """The ZIP as a temporary file (rewound), its PDF in ``language``. Each evidence file is
    read through the custody path (verified, recorded); a file whose hash fails is left out and
    listed as withheld."""
    checkpoint = sign_checkpoint(incident=incident)  # before the parts are gathered
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
        pdf = render_pdf(data, language=language, referral=referral, checkpoint=checkpoint)
        files = {"dossier.pdf": pdf, "incident.json": export_json(data)}
        # The signed checkpoints, this incident's events as hashed, the public key and an
        # offline verifier (incidents/legal/record_proof.py).
        files |= proof_files(incident, checkpoint)
        for name, blob in files.items():
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
