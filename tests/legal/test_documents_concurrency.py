"""Racing writers of documents (real PostgreSQL row locks): one draft of a kind, one issue of a
draft, one event each; the loser hears why."""

from __future__ import annotations

from collections import Counter

import pytest

from incidents.legal.documents import draft_document, issue_document
from incidents.models import Document, Event
from tests.incidents.test_concurrency import outcome, race

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_drafts_of_a_kind_leave_one_draft(require_postgres, incident_in, users):
    incident = incident_in("restored")
    attempt = lambda: draft_document(  # noqa: E731
        incident.reference, actor=users["legal"], kind="executive_brief", language="en"
    )
    counts = Counter(outcome(r) for r in race([attempt, attempt, attempt]))
    assert counts == Counter({"ok": 1, "409": 2}), counts
    assert Document.objects.filter(incident=incident).count() == 1
    assert Event.objects.filter(incident=incident, kind="document.drafted").count() == 1


def test_racing_issues_of_a_draft_freeze_it_once(require_postgres, incident_in, users):
    incident = incident_in("restored")
    document, _ = draft_document(
        incident, actor=users["legal"], kind="gdpr33_notification", language="fa"
    )
    attempt = lambda: issue_document(  # noqa: E731
        Document.objects.get(pk=document.pk), actor=users["legal"]
    )
    results = race([attempt, attempt])
    counts = Counter(outcome(r) for r in results)
    assert counts["ok"] == 1 and counts["412"] + counts["409"] == 1, counts
    issued = Document.objects.get(pk=document.pk)
    winner = next(r for r in results if isinstance(r, tuple))[0]
    assert issued.sha256 == winner.sha256
    events = Event.objects.filter(incident=incident, kind="document.issued")
    assert [e.data["sha256"] for e in events] == [issued.sha256]
