"""Evidence files and their chain of custody.

Files live under MEDIA_ROOT/evidence/ with a server-made name; the uploaded name is metadata
only, so no client string ever reaches the file system. The SHA-256 is computed while the upload
streams in and again on every download, and a file whose bytes changed is refused (and that
refusal is itself recorded: custody entry and timeline event).
"""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
import uuid
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import (
    EXECUTIVE,
    WRITER_ROLES,
    has_any_role,
    primary_role,
    roles_of,
)
from incidents.changing import changing
from incidents.errors import DomainError, InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import CustodyEntry, Event, Evidence, Incident

CHUNK = 1024 * 1024
# A multipart body carries a little more than the file: boundaries, headers, other fields.
MULTIPART_OVERHEAD = 64 * 1024


class EvidenceTooLarge(DomainError):
    status = 413

    def __init__(self, limit: int) -> None:
        message = _("Evidence files may be at most %(limit)s bytes (EVIDENCE_MAX_BYTES).")
        super().__init__(message % {"limit": limit}, max_bytes=limit)


class EvidenceTampered(DomainError):
    status = 409

    def __init__(self, evidence: Evidence, actual: str | None) -> None:
        message = _(
            "The stored file no longer matches the SHA-256 recorded at upload; it is withheld "
            "and the failure is recorded in the chain of custody."
        )
        super().__init__(message, expected_sha256=evidence.sha256, actual_sha256=actual)


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Counts and hashes the file as it streams in; stops at EVIDENCE_MAX_BYTES (413).

    Install per request (``request.upload_handlers = [...]``) on the evidence upload view only."""

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, *args: Any) -> None:
        # Refuse at once when the client announces a body no allowed file could fit in.
        if content_length and content_length > settings.EVIDENCE_MAX_BYTES + MULTIPART_OVERHEAD:
            raise EvidenceTooLarge(settings.EVIDENCE_MAX_BYTES)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.hasher, self.received = hashlib.sha256(), 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > settings.EVIDENCE_MAX_BYTES:
            self.file.close()
            raise EvidenceTooLarge(settings.EVIDENCE_MAX_BYTES)
        self.hasher.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> Any:
        upload = super().file_complete(file_size)
        upload.sha256 = self.hasher.hexdigest()
        return upload


def evidence_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "evidence"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(evidence: Evidence) -> Path:
    return evidence_dir() / evidence.stored_name


def clean_original_name(name: str) -> str:
    """Metadata only: drop control characters and keep it short; never used as a path."""
    name = "".join(c for c in (name or "") if unicodedata.category(c)[0] != "C").strip()
    return (name or "unnamed")[:255]


def may_upload(user: Any) -> bool:
    return has_any_role(user, WRITER_ROLES)


def may_download(user: Any) -> bool:
    roles = roles_of(user)
    if roles & WRITER_ROLES:
        return True
    return EXECUTIVE in roles and settings.EVIDENCE_EXECUTIVE_DOWNLOAD


def _custody(
    evidence: Evidence, actor: Any, action: str, note: str = "", **extra: Any
) -> CustodyEntry:
    return CustodyEntry.objects.create(
        evidence=evidence,
        actor=actor,
        actor_username=actor.username,
        role=primary_role(actor) or "",
        at=timezone.now(),
        action=action,
        note=note,
        **extra,
    )


def _write(upload: Any, dest: Path) -> tuple[int, str]:
    hasher, size = hashlib.sha256(), 0
    with open(dest, "xb") as out:
        for chunk in upload.chunks(CHUNK):
            size += len(chunk)
            if size > settings.EVIDENCE_MAX_BYTES:
                raise EvidenceTooLarge(settings.EVIDENCE_MAX_BYTES)
            hasher.update(chunk)
            out.write(chunk)
    return size, hasher.hexdigest()


def store_evidence(
    incident: Incident, *, actor: Any, upload: Any, description: str = "", note: str = ""
) -> tuple[Evidence, Event]:
    """Keep an uploaded file as evidence of the incident: stored, hashed, logged, in custody."""
    if not may_upload(actor):
        raise RoleForbidden(_("Only engineers, legal and admins add evidence."))
    stored_name = uuid.uuid4().hex
    dest = evidence_dir() / stored_name
    try:
        size, sha256 = _write(upload, dest)
        if size == 0:
            raise InvalidChange({"file": [_("The file is empty.")]})
        streamed = getattr(upload, "sha256", None)
        if streamed and streamed != sha256:
            raise InvalidChange({"file": [_("The file changed while it was being stored.")]})
        with changing(incident) as locked:
            evidence = Evidence.objects.create(
                incident=locked,
                stored_name=stored_name,
                original_name=clean_original_name(getattr(upload, "name", "")),
                content_type=(getattr(upload, "content_type", "") or "")[:200],
                size=size,
                sha256=sha256,
                description=description,
                uploaded_by=actor,
                uploaded_at=timezone.now(),
            )
            _custody(evidence, actor, CustodyEntry.UPLOADED, note)
            event = append_event(locked, "evidence.uploaded", actor=actor, data=_describe(evidence))
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return evidence, event


def _describe(evidence: Evidence) -> dict[str, Any]:
    return {
        "evidence": {
            "id": evidence.pk,
            "name": evidence.original_name,
            "size": evidence.size,
            "sha256": evidence.sha256,
        }
    }


def verified_copy(evidence: Evidence) -> tuple[IO[bytes] | None, str | None]:
    """A private copy of the stored bytes and their SHA-256 (None, None when the file is gone).

    Serving the copy, not the stored file, means the bytes sent are exactly the bytes checked."""
    copy = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)
    hasher = hashlib.sha256()
    try:
        with open(stored_path(evidence), "rb") as src:
            while chunk := src.read(CHUNK):
                hasher.update(chunk)
                copy.write(chunk)
    except FileNotFoundError:
        copy.close()
        return None, None
    copy.seek(0)
    return copy, hasher.hexdigest()


def open_for_download(evidence: Evidence, *, actor: Any, note: str = "") -> IO[bytes]:
    """The verified bytes of an evidence file, with a custody entry; or EvidenceTampered
    after recording the failure (that record commits even though the download is refused)."""
    if not may_download(actor):
        raise RoleForbidden(_("Your role may not download evidence."))
    copy, actual = verified_copy(evidence)
    ok = actual == evidence.sha256
    with changing(evidence.incident_id) as locked:
        if ok:
            _custody(evidence, actor, CustodyEntry.DOWNLOADED, note)
            append_event(locked, "evidence.downloaded", actor=actor, data=_describe(evidence))
        else:
            Evidence.objects.filter(pk=evidence.pk).update(integrity_failed_at=timezone.now())
            _custody(
                evidence,
                actor,
                CustodyEntry.INTEGRITY_FAILED,
                f"expected {evidence.sha256}, found {actual or 'no file'}",
            )
            data = {**_describe(evidence), "actual_sha256": actual}
            append_event(locked, "evidence.integrity_failed", actor=actor, data=data)
    if not ok:
        if copy is not None:
            copy.close()
        raise EvidenceTampered(evidence, actual)
    return copy
