"""Dossier PDFs asked for at once from a fresh process: the audit saw 4 of 6 parallel first
requests answered 500, the request threads all making the pinned font in one shared temporary
file (incidents/legal/dossier.py ``static_font``)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pypdfium2
import pytest

from tests.stream.conftest import token_of
from tests.stream.servers import daphne

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PARALLEL = 6


def get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.timeout(180)
def test_parallel_first_dossiers_of_a_fresh_process_are_all_whole_pdfs(
    tmp_path, users, incident_in
):
    incident = incident_in("restored")
    token = token_of(users["legal"])
    # daphne's var dir is tmp_path: no font made yet, and a new process has none in memory.
    assert not (tmp_path / "cache").exists()
    with daphne(tmp_path, redis_url=None, prefix=f"d{uuid.uuid4().hex[:8]}") as base:
        url = f"{base}/api/incidents/{incident.reference}/dossier.pdf"
        barrier = threading.Barrier(PARALLEL, timeout=60)

        def fetch(_: int) -> tuple[int, bytes]:
            barrier.wait()
            return get(url, token)

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            answers = list(pool.map(fetch, range(PARALLEL)))
    refused = [(status, body[:200]) for status, body in answers if status != 200]
    assert not refused, f"{len(refused)} of {PARALLEL} refused: {refused}"
    for _, body in answers:
        document = pypdfium2.PdfDocument(body)
        assert len(document) >= 1
        assert incident.reference in document[0].get_textpage().get_text_range()
    assert [p.name for p in (tmp_path / "cache" / "fonts").iterdir() if p.suffix == ".tmp"] == []
