"""After a refused form the incident page says what went wrong at the top, on the page's own
address (a reload never sends the form again); friendly 404 and 500 pages in both languages;
the timeline says what changed in words (issue 20, section 4)."""

from __future__ import annotations

import html as markup
import re
from types import SimpleNamespace

import pytest
from django.test import RequestFactory
from django.utils import translation

from core.api.http import server_error
from frontend.timeline_words import words
from incidents.legal.dossier_timeline import Names
from incidents.lifecycle import update_incident
from tests.frontend.helpers import browser, shown_again

pytestmark = pytest.mark.django_db


def test_a_refused_form_is_redirected_to_its_page_and_shown_there_once(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    page = f"/incidents/{incident.reference}/"
    response = client.post(
        f"{page}edit/scope/",
        {"version": incident.version, "affected_subjects_estimate": "lots", "attack_vector": ""},
    )
    assert response.status_code == 303
    assert response["Location"] == f"{page}#error-summary"

    shown = client.get(response["Location"])
    assert shown.status_code == 200
    html = shown.content.decode()
    summary = html.split('id="error-summary"')[1].split("</section>")[0]
    assert summary.startswith(' tabindex="-1"')  # focusable by script and by the fragment
    link = '<a href="#id_affected_subjects_estimate">Affected people (estimate)</a>'
    assert f"{link}: Enter a whole number." in summary
    assert "error_summary.js" in html  # moves the focus to it
    field = re.search(r"<input[^>]*id=\"id_affected_subjects_estimate\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in field and 'value="lots"' in field  # what was typed is kept
    assert 'aria-describedby="id_affected_subjects_estimate_error"' in field
    assert 'id="id_affected_subjects_estimate_error"' in html

    again = client.get(page).content.decode()  # a reload: the page as it is, no old errors
    assert 'id="error-summary"' not in again and 'value="lots"' not in again


def test_a_refusal_by_the_domain_is_said_in_the_pages_words(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        f"/incidents/{incident.reference}/transitions/start_restoration/",
        {"version": incident.version},
        follow=True,
    )
    summary = shown_again(response).split('id="error-summary"')[1].split("</section>")[0]
    assert "Still missing: attack vector, " in summary
    assert "attack_vector" not in summary  # the label, not the API's name


def test_a_stale_form_never_shows_a_version_number(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        f"/incidents/{incident.reference}/edit/summary/",
        {"version": incident.version + 3, "title": "Renamed", "severity": "high"},
        follow=True,
    )
    summary = shown_again(response).split('id="error-summary"')[1].split("</section>")[0]
    assert "Someone else changed this incident" in summary and "version" not in summary


def test_persian_refusals_use_persian_digits(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"])
    response = client.post(
        f"/incidents/{incident.reference}/edit/scope/",
        {"version": incident.version, "affected_subjects_estimate": "-5"},
        follow=True,
    )
    summary = shown_again(response).split('id="error-summary"')[1].split("</section>")[0]
    text = re.sub(r"<[^>]*>", "", summary.split(">", 1)[1])
    assert "۰" in text and not re.search(r"[0-9]", text)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_an_unknown_page_is_a_friendly_404_in_the_readers_language(users, language):
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE=language).get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert html.count("<h1") == 1 and f'lang="{language}"' in html
    assert 'href="/"' in html  # the way back
    assert "Page not found" in html or language == "fa"  # Persian: the lead's catalogue


def test_an_incident_nobody_may_see_is_the_same_friendly_404(users):
    response = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get("/incidents/INC-1999-1/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_an_unknown_api_address_keeps_its_json_404(users):
    response = browser(users["engineer"]).get("/api/no-such-thing/")
    assert response.status_code == 404 and response.json()["detail"]


def test_a_server_error_page_is_friendly_and_needs_no_request_context():
    with translation.override("en"):
        response = server_error(RequestFactory().get("/incidents/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and html.count("<h1") == 1
    assert "favicon.svg" in html


def test_every_page_links_the_favicon(users):
    html = browser(users["engineer"]).get("/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*favicon\.svg"', html)


def test_the_timeline_says_what_changed_from_what_to_what(users, incident_in):
    incident = incident_in("scoping")
    update_incident(incident, actor=users["engineer"], changes={"attack_vector": "phishing"})
    incident.refresh_from_db()
    update_incident(
        incident, actor=users["engineer"], changes={"attack_vector": "misconfiguration"}
    )
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = client.get(f"/incidents/{incident.reference}/").content.decode()
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    assert "attack vector: <bdi>Phishing → Misconfiguration</bdi>" in timeline


@pytest.mark.parametrize(
    ("kind", "data", "said"),
    [
        ("task.done", {"task": {"id": 3, "title": "Preserve logs"}}, "Task '<bdi>Preserve logs"),
        ("task.added", {}, "Task '<bdi>—</bdi>' added"),  # data without its key: no error
        ("follow_up.done", {"follow_up": {"title": "Rotate keys"}}, "<bdi>Rotate keys</bdi>"),
        ("status_update", {"body": "All good"}, "Status update posted"),
        ("review.finished", None, "Post-incident review finished"),
        ("obligation.fulfil", {"obligation": {"id": 7}}, "'<bdi>GDPR-33: Notify</bdi>'"),
    ],
)
def test_timeline_headlines_name_their_subject(kind, data, said):
    event = SimpleNamespace(kind=kind, data=data)
    names = Names(evidence={}, obligations={7: "GDPR-33: Notify"})
    with translation.override("en"):
        headline = markup.unescape(str(words(event, names).headline))
    assert said in headline
