"""The review in the dossier (a section of the PDF, ``post_incident_review`` in the JSON export)
and on its own: ``GET /api/incidents/{ref}/review.pdf?lang=fa|en``, typeset like the dossier."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import translation

from incidents.choices import State
from incidents.models import AccessRecord
from incidents.workspace.follow_ups import add_follow_up
from tests.conftest import finish_review
from tests.legal.documents_case import pdf_text, squeezed
from tests.legal.test_dossier import same_words

pytestmark = pytest.mark.django_db

ROOT_CAUSE = "Backup bucket ACL left public by Terraform drift"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def reviewed(users, incident_in, media):
    incident = incident_in("referred")
    finish_review(incident, users["engineer"], root_cause=ROOT_CAUSE)
    add_follow_up(
        incident.reference, actor=users["legal"], title="Drift check in CI", owner="engineer"
    )
    return incident


def test_the_dossier_json_export_carries_the_review_and_its_follow_ups(api, reviewed):
    archive = api("legal").get(f"/api/incidents/{reviewed.reference}/dossier.zip?lang=en")
    assert archive.status_code == 200
    raw = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).read("incident.json")
    section = json.loads(raw)["post_incident_review"]
    assert section["root_cause"] == ROOT_CAUSE and section["finished_by"] == "engineer"
    assert [p["state"] for p in section["phases"]][-1] == "referred"
    assert section["milestones"]["time_to_restore"] >= 0
    assert section["follow_ups"][0]["title"] == "Drift check in CI"
    assert section["follow_ups"][0]["owner"] == "engineer"


def test_the_dossier_pdf_has_the_review_section(api, reviewed):
    response = api("legal").get(f"/api/incidents/{reviewed.reference}/dossier.pdf?lang=en")
    assert response.status_code == 200
    text = squeezed(pdf_text(response.content))
    assert "Post-incident review" in text and ROOT_CAUSE in text
    assert "Drift check in CI" in text and "Time to restore (from detection)" in text


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_review_alone_is_a_pdf_in_either_language(api, reviewed, language):
    response = api("executive").get(
        f"/api/incidents/{reviewed.reference}/review.pdf?lang={language}"
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Language"] == language
    text = squeezed(pdf_text(response.content))
    assert ROOT_CAUSE in text and "Drift check in CI" in text
    with translation.override(language):
        state, timeline = str(State.REFERRED.label), str(translation.gettext("Timeline"))
    # The phases and the timeline it was drafted from, in the document's words.
    assert same_words(state, text) and same_words(timeline, text)
    record = AccessRecord.objects.filter(incident=reviewed).last()
    assert record.kind == "dossier.exported" and record.target == "review.pdf"


def test_a_bad_language_is_400_and_an_unseen_incident_404(api, reviewed):
    assert (
        api("legal").get(f"/api/incidents/{reviewed.reference}/review.pdf?lang=de").status_code
        == 400
    )
    assert api("legal").get("/api/incidents/INC-1999-0001/review.pdf").status_code == 404
    assert api("norole").get(f"/api/incidents/{reviewed.reference}/review.pdf").status_code == 403


def test_an_incident_without_a_review_says_so(api, incident_in, media):
    incident = incident_in("restored")
    response = api("legal").get(f"/api/incidents/{incident.reference}/review.pdf?lang=en")
    text = squeezed(pdf_text(response.content))
    assert "Not written yet" in text and "No follow-up action." in text
