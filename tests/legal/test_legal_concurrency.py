"""Racing writers on legal records: one winner, one event (real PostgreSQL row locks)."""

from __future__ import annotations

from collections import Counter

import pytest

from incidents.legal.obligations import apply_obligation_transition
from incidents.legal.referrals import apply_referral_transition, create_referral
from incidents.models import Event, Obligation, Referral
from tests.incidents.test_concurrency import outcome, race

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_referral_submissions_have_one_winner(require_postgres, incident_in, users):
    referral, _ = create_referral(
        incident_in("restored"), actor=users["legal"], data={"authority": "cyber_police"}
    )
    before = Event.objects.count()
    submit = lambda: apply_referral_transition(  # noqa: E731
        Referral.objects.get(pk=referral.pk), "submit", actor=users["legal"]
    )
    counts = Counter(outcome(r) for r in race([submit, submit, submit]))
    assert counts == Counter({"ok": 1, "409": 2}), counts
    assert Event.objects.count() == before + 1


def test_fulfil_racing_waive_leaves_one_decision(require_postgres, rules, incident_in, users):
    obligation = incident_in("restoring").obligations.first()
    fulfil = lambda: apply_obligation_transition(  # noqa: E731
        Obligation.objects.get(pk=obligation.pk),
        "fulfil",
        actor=users["engineer"],
        payload={"note": "sent"},
    )
    waive = lambda: apply_obligation_transition(  # noqa: E731
        Obligation.objects.get(pk=obligation.pk),
        "waive",
        actor=users["legal"],
        payload={"note": "not required"},
    )
    counts = Counter(outcome(r) for r in race([fulfil, waive]))
    assert counts == Counter({"ok": 1, "409": 1}), counts
    assert Event.objects.filter(kind__startswith="obligation.").count() == 1
