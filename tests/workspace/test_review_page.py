"""The review on the incident page: shown once the incident is restored, with the summary, the
form (labelled, dir="auto"), the follow-ups and their buttons and the PDF in both languages;
executives read it without forms; refusals come back on the page, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents.models import Event, FollowUp, Review
from tests.frontend.helpers import browser, shown_again

pytestmark = pytest.mark.django_db


def _page(client, incident) -> str:
    response = client.get(f"/incidents/{incident.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def _form(**values):
    return {"version": 0, "root_cause": "", "went_well": "", "went_badly": "", **values}


def test_the_section_appears_only_once_the_incident_is_restored(users, incident_in):
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="review"' not in _page(client, incident_in("restoring"))
    html = _page(client, incident_in("restored"))
    assert 'id="review"' in html and "Post-incident review" in html
    assert 'name="root_cause"' in html and 'dir="auto"' in html
    assert 'for="id_review_root_cause"' in html  # each field labelled
    assert "review.pdf?lang=fa" in html and "review.pdf?lang=en" in html
    assert "Time to restore (from detection)" in html


def test_engineer_writes_finishes_and_the_page_shows_it(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    url = f"/incidents/{incident.reference}/review/"
    saved = client.post(url, _form(root_cause="A <b>phishing</b> mail", finished="on"))
    assert saved.status_code == 302 and saved["Location"].endswith("#review")
    review = Review.objects.get(incident=incident)
    assert review.finished and review.root_cause == "A <b>phishing</b> mail"
    html = _page(client, incident)
    assert "A &lt;b&gt;phishing&lt;/b&gt; mail" in html and "Reopen the review" in html
    assert Event.objects.filter(incident=incident, kind="review.finished").count() == 1


def test_finishing_without_a_root_cause_comes_back_with_the_text_kept(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    url = f"/incidents/{incident.reference}/review/"
    response = client.post(url, _form(went_well="Fast revocation", finished="on"), follow=True)
    html = shown_again(response)
    assert "Fast revocation" in html and "root cause" in html.lower()
    assert not Review.objects.filter(incident=incident).exists()


def test_follow_ups_are_added_and_marked_done_after_closing(users, incident_in):
    incident = incident_in("closed")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    due = (timezone.localtime() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    added = client.post(
        f"/incidents/{incident.reference}/follow-ups/",
        {"title": "Turn on MFA for support", "owner": "engineer", "due_at": due, "note": ""},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    follow_up = FollowUp.objects.get(incident=incident)
    assert follow_up.owner == users["engineer"] and follow_up.due_at is not None
    html = _page(client, incident)
    assert "Turn on MFA for support" in html and "Mark done" in html
    done = client.post(
        f"/incidents/{incident.reference}/follow-ups/{follow_up.pk}/done/",
        {f"done-{follow_up.pk}-version": follow_up.version, f"done-{follow_up.pk}-done": "True"},
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.done and follow_up.done_by == users["legal"]
    assert "Mark not done" in _page(client, incident)


def test_an_unknown_owner_comes_back_on_the_page(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        f"/incidents/{incident.reference}/follow-ups/",
        {"title": "Rotate keys", "owner": "nobody-here", "due_at": "", "note": ""},
        follow=True,
    )
    html = shown_again(response)
    assert "Rotate keys" in html and "No colleague has that user name." in html
    assert not FollowUp.objects.exists()


def test_executive_reads_the_review_without_forms_and_is_refused_by_the_server(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    html = _page(client, incident)
    assert 'id="review"' in html and 'name="root_cause"' not in html
    assert "Add a follow-up action" not in html
    refused = client.post(f"/incidents/{incident.reference}/review/", _form(root_cause="x"))
    assert refused.status_code == 403 and not Review.objects.exists()


def test_the_page_works_in_persian(users, incident_in):
    incident = incident_in("restored")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="fa")
    html = _page(client, incident)
    assert 'id="review"' in html and "review.pdf?lang=fa" in html


def test_still_needed_names_the_review_for_closing(users, incident_in):
    incident = incident_in("referred")
    html = _page(browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert "a finished post-incident review" in html
    assert "Closing waits for this review to be finished." in html
