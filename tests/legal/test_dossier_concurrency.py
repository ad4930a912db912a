"""Dossier PDFs asked for at once from a fresh process: the audit saw 4 of 6 parallel first
requests answered 500, the request threads all making a pinned font in one shared temporary
file. The typeset engine (incidents/legal/typeset.py) writes no shared file: each request thread
keeps its own font configuration."""

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
    # daphne's var dir is tmp_path, and a new process has no font configuration in memory.
    assert not (tmp_path / "cache").exists()
    with daphne(tmp_path, redis_url=None, prefix=f"d{uuid.uuid4().hex[:8]}") as base:
        url = f"{base}/api/incidents/{incident.reference}/dossier.pdf?lang=en"
        barrier = threading.Barrier(PARALLEL, timeout=60)

        def fetch(_: int) -> tuple[int, bytes]:
            barrier.wait()
            return get(url, token)

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            answers = list(pool.map(fetch, range(PARALLEL)))
    refused = [(status, body[:200]) for status, body in answers if status != 200]
    assert not refused, f"{len(refused)} of {PARALLEL} refused: {refused}"
    texts = []
    for _, body in answers:
        document = pypdfium2.PdfDocument(body)
        assert len(document) >= 1
        texts.append([page.get_textpage().get_text_range() for page in document])
        assert incident.reference in texts[-1][0] and "Incident dossier" in texts[-1][0]
    # Every thread typeset the same document with its fonts: the same pages, the same words
    # (only the moment each was prepared and the access log's rows may differ).
    assert len({len(pages) for pages in texts}) == 1
    assert not (tmp_path / "cache").exists()  # nothing written to share
