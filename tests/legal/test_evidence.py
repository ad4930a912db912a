"""Evidence: hashed while streaming, stored under a server name, limits, custody, and a file
changed on disk is refused at download (and the refusal recorded)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import CustodyEntry, Event, Evidence

pytestmark = pytest.mark.django_db

CONTENT = b"-- shop-db access log excerpt --\n" * 100


def upload(
    api: Any,
    reference: str,
    content: bytes = CONTENT,
    name: str = "access.log",
    role: str = "engineer",
    **extra: Any,
) -> Any:
    return api(role).post(
        f"/api/incidents/{reference}/evidence/",
        {"file": SimpleUploadedFile(name, content, "text/plain"), **extra},
        format="multipart",
    )


def test_upload_hashes_the_file_and_keeps_a_custody_entry(api, incident_in, media):
    incident = incident_in("scoping")
    response = upload(api, incident.reference, description="web log")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert body["size"] == len(CONTENT) and body["original_name"] == "access.log"
    assert [(c["action"], c["actor"], c["role"]) for c in body["custody"]] == [
        ("uploaded", "engineer", "engineer")
    ]
    evidence = Evidence.objects.get()
    stored = Path(media) / "evidence" / evidence.stored_name
    assert stored.read_bytes() == CONTENT and evidence.stored_name != "access.log"
    assert Event.objects.order_by("-seq").first().kind == "evidence.uploaded"


def test_path_traversal_name_is_metadata_only(api, incident_in, media, tmp_path):
    response = upload(api, incident_in("scoping").reference, name="../../etc/passwd")
    assert response.status_code == 201
    evidence = Evidence.objects.get()
    assert "/" not in evidence.original_name and ".." not in evidence.stored_name
    files = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert files == [Path(media) / "evidence" / evidence.stored_name]


def test_empty_file_is_refused(api, incident_in, media):
    response = upload(api, incident_in("scoping").reference, content=b"")
    assert response.status_code == 400 and "file" in response.json()
    assert not Evidence.objects.exists()
    assert list((Path(media) / "evidence").iterdir()) == []


def test_file_above_the_limit_is_413_and_nothing_is_kept(api, incident_in, media, settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    reference = incident_in("scoping").reference
    response = upload(api, reference, content=b"x" * 1001)
    assert response.status_code == 413 and response.json()["max_bytes"] == 1000
    assert not Evidence.objects.exists()
    assert upload(api, reference, content=b"x" * 1000).status_code == 201


def test_announced_oversized_body_is_refused_before_reading(incident_in, media, settings, users):
    from incidents.legal.evidence import EvidenceTooLarge, HashingUploadHandler

    settings.EVIDENCE_MAX_BYTES = 1000
    handler = HashingUploadHandler()
    with pytest.raises(EvidenceTooLarge):
        handler.handle_raw_input(None, {}, 10_000_000, b"boundary", "utf-8")


def test_executive_cannot_upload_or_download_by_default(api, incident_in, media, settings):
    reference = incident_in("scoping").reference
    assert upload(api, reference, role="executive").status_code == 403
    pk = upload(api, reference).json()["id"]
    assert api("executive").get(f"/api/evidence/{pk}/download/").status_code == 403
    assert api("executive").get(f"/api/evidence/{pk}/").status_code == 200
    settings.EVIDENCE_EXECUTIVE_DOWNLOAD = True
    assert api("executive").get(f"/api/evidence/{pk}/download/").status_code == 200


def test_download_reverifies_and_records_custody(api, incident_in, media):
    pk = upload(api, incident_in("scoping").reference).json()["id"]
    response = api("legal").get(f"/api/evidence/{pk}/download/", {"note": "for FATA"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["X-Content-SHA256"] == hashlib.sha256(CONTENT).hexdigest()
    assert 'filename="access.log"' in response["Content-Disposition"]
    last = CustodyEntry.objects.order_by("-id").first()
    assert (last.action, last.actor_username, last.role, last.note) == (
        "downloaded",
        "legal",
        "legal",
        "for FATA",
    )


def test_tampered_file_on_disk_is_refused_and_recorded(api, incident_in, media):
    pk = upload(api, incident_in("scoping").reference).json()["id"]
    evidence = Evidence.objects.get(pk=pk)
    (Path(media) / "evidence" / evidence.stored_name).write_bytes(CONTENT + b"forged line\n")
    response = api("legal").get(f"/api/evidence/{pk}/download/")
    assert response.status_code == 409
    assert response.json()["expected_sha256"] == evidence.sha256
    evidence.refresh_from_db()
    assert evidence.integrity_failed_at is not None
    assert evidence.custody.order_by("-id").first().action == "integrity_failed"
    assert Event.objects.order_by("-seq").first().kind == "evidence.integrity_failed"


def test_missing_file_on_disk_is_refused_too(api, incident_in, media):
    pk = upload(api, incident_in("scoping").reference).json()["id"]
    (Path(media) / "evidence" / Evidence.objects.get(pk=pk).stored_name).unlink()
    response = api("admin").get(f"/api/evidence/{pk}/download/")
    assert response.status_code == 409 and response.json()["actual_sha256"] is None


def test_handover_to_a_referral_is_a_custody_entry(api, incident_in, media):
    incident = incident_in("restored")
    pk = upload(api, incident.reference).json()["id"]
    referral = (
        api("legal")
        .post(
            f"/api/incidents/{incident.reference}/referrals/",
            {"authority": "cyber_police"},
            format="json",
        )
        .json()
    )
    response = api("legal").post(
        f"/api/referrals/{referral['id']}/evidence/",
        {"evidence": [pk], "note": "USB, sealed"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["evidence"] == [pk]
    entry = CustodyEntry.objects.order_by("-id").first()
    assert (entry.action, entry.referral_id, entry.note) == (
        "handed_over",
        referral["id"],
        "USB, sealed",
    )
    other = incident_in("restored")
    foreign = upload(api, other.reference).json()["id"]
    refused = api("legal").post(
        f"/api/referrals/{referral['id']}/evidence/", {"evidence": [foreign]}, format="json"
    )
    assert refused.status_code == 400


def test_upload_without_a_file_or_as_json_is_a_clear_4xx(api, incident_in, media):
    reference = incident_in("scoping").reference
    url = f"/api/incidents/{reference}/evidence/"
    assert api("engineer").post(url, {"description": "x"}, format="multipart").status_code == 400
    assert api("engineer").post(url, {"file": "x"}, format="json").status_code == 415


def test_obligation_fulfilled_with_an_evidence_document(rules, api, incident_in, media):
    incident = incident_in("restoring")
    pk = upload(api, incident.reference, name="letter.pdf").json()["id"]
    obligation = incident.obligations.first()
    response = api("legal").post(
        f"/api/obligations/{obligation.pk}/transitions/fulfil/",
        {"note": "Letter sent", "document": pk},
        format="json",
    )
    assert response.status_code == 200 and response.json()["document"] == pk
    other = incident_in("restoring")
    foreign = upload(api, other.reference).json()["id"]
    refused = api("legal").post(
        f"/api/obligations/{other.obligations.first().pk}/transitions/fulfil/",
        {"note": "x", "document": pk},
        format="json",
    )
    assert refused.status_code == 400 and foreign


async def _run_limited(headers: list, chunks: list[bytes]) -> tuple[list, list]:
    from incidents.legal.upload_limit import BodyLimit

    seen, sent = [], []
    queue = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    async def receive() -> dict:
        return queue.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await BodyLimit(app)({"type": "http", "headers": headers}, receive, send)
    return seen, sent


async def test_asgi_guard_refuses_an_announced_oversized_body_before_django(settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    headers = [(b"content-length", b"999999999"), (b"accept-language", b"en-US,en;q=0.9")]
    seen, sent = await _run_limited(headers, [b"x"])
    assert seen == [] and sent[0]["status"] == 413
    # The same answer as an upload refused while it is parsed.
    assert json.loads(sent[1]["body"]) == {
        "detail": "Evidence files may be at most 1000 bytes (EVIDENCE_MAX_BYTES).",
        "max_bytes": 1000,
    }
    _seen, persian = await _run_limited([(b"content-length", b"999999999")], [b"x"])
    assert json.loads(persian[1]["body"])["detail"].startswith("پروندهٔ مدرک حداکثر 1000 بایت")


async def test_asgi_guard_cuts_a_body_that_streams_past_the_limit(settings):
    from incidents.legal.upload_limit import body_limit

    settings.EVIDENCE_MAX_BYTES = 1000
    chunk = b"x" * (body_limit() // 2 + 1)
    seen, sent = await _run_limited([], [chunk, chunk, chunk])
    assert seen == ["http.request", "http.disconnect"]
    assert sent[0]["status"] == 413 and len(sent) == 2
    ok_seen, _ = await _run_limited([(b"content-length", b"10")], [b"0123456789"])
    assert ok_seen == ["http.request"]


def test_browser_session_upload_passes_csrf_and_the_limit(users, incident_in, media, settings):
    from django.middleware.csrf import _get_new_csrf_string
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    reference = incident_in("scoping").reference
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="legal", password=PASSWORD)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    url = f"/api/incidents/{reference}/evidence/"

    def post(content: bytes, **headers: str) -> Any:
        return client.post(
            url, {"file": SimpleUploadedFile("a.txt", content)}, format="multipart", **headers
        )

    assert post(b"data").status_code == 403  # no CSRF token
    assert post(b"data", HTTP_X_CSRFTOKEN=secret).status_code == 201
    settings.EVIDENCE_MAX_BYTES = 10
    assert post(b"x" * 11, HTTP_X_CSRFTOKEN=secret).status_code == 413


def test_an_upload_with_a_repeated_part_or_an_unknown_one_is_refused(api, incident_in, media):
    incident = incident_in("scoping")
    url = f"/api/incidents/{incident.reference}/evidence/"
    two = api("engineer").post(
        url,
        {
            "file": [
                SimpleUploadedFile("a.log", b"first", "text/plain"),
                SimpleUploadedFile("b.log", b"second", "text/plain"),
            ]
        },
        format="multipart",
    )
    assert two.status_code == 400 and "file" in two.json()
    unknown = upload(api, incident.reference, collected_by="me")
    assert unknown.status_code == 400 and unknown.json()["collected_by"] == ["فیلد ناشناخته است."]
    assert not Evidence.objects.exists()
