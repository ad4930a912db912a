"""A form that arrives incomplete (a version missing, a step the record does not have; the
notice campaigns' steps answer the same way) is
answered like any refused form: 303 back to the incident page, which says so in its error
summary once, so a reload never sends the POST again."""

from __future__ import annotations

import pytest

from incidents.legal.obligations import seed_rules
from incidents.models import Obligation
from tests.frontend.helpers import browser, shown_again

pytestmark = pytest.mark.django_db


def _summary(html: str) -> str:
    return html.split('id="error-summary"')[1].split("</section>")[0]


def test_an_incomplete_deadline_form_goes_back_to_the_page(users, incident_in):
    seed_rules()
    incident = incident_in("restoring")
    obligation = Obligation.objects.filter(incident=incident).order_by("due_at").first()
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    page = f"/incidents/{incident.reference}/"
    response = client.post(
        f"{page}obligations/{obligation.pk}/transitions/no_such_step/", {"note": "x"}, follow=True
    )
    assert response.redirect_chain[0][0] == f"{page}#error-summary"
    assert "The form was incomplete; try again." in _summary(shown_again(response))
    assert 'id="error-summary"' not in client.get(page).content.decode()
    obligation.refresh_from_db()
    assert obligation.state == "open"
