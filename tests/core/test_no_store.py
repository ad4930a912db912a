"""API, evidence and dossier answers carry Cache-Control: no-store, errors included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient


def no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_api_answers_are_not_stored(api: Callable[[str], APIClient], incident_in: Any) -> None:
    incident = incident_in("detected")
    client = api("legal")
    ok = client.get("/api/incidents/")
    assert ok.status_code == 200 and no_store(ok)
    detail = client.get(f"/api/incidents/{incident.reference}/")
    assert detail.status_code == 200 and no_store(detail)
    missing = client.get("/api/incidents/INC-1999-0001/")
    assert missing.status_code == 404 and no_store(missing)
    anonymous = APIClient().get("/api/incidents/")
    assert anonymous.status_code in (401, 403) and no_store(anonymous)


@pytest.mark.django_db
def test_evidence_and_dossier_answers_are_not_stored(
    api: Callable[[str], APIClient], incident_in: Any
) -> None:
    incident = incident_in("detected")
    client = api("legal")
    evidence = client.get(f"/api/incidents/{incident.reference}/evidence/")
    assert no_store(evidence), evidence.status_code
    gone = client.get("/api/evidence/999999/download/")
    assert gone.status_code == 404 and no_store(gone)
    dossier = client.get(f"/api/incidents/{incident.reference}/dossier.zip")
    assert no_store(dossier), dossier.status_code
    missing = client.get("/api/incidents/INC-1999-0001/dossier.pdf")
    assert missing.status_code == 404 and no_store(missing)
