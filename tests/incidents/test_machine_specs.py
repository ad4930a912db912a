"""Each state machine's spec (incidents/machines.py) agrees with its django-fsm decorators and
with what the README tells people, so the API, the pages and the docs cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from incidents.legal.obligations import OBLIGATION
from incidents.legal.referrals import REFERRAL
from incidents.lifecycle import INCIDENT

MACHINES = [INCIDENT, REFERRAL, OBLIGATION]
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.model.__name__)
def test_the_spec_names_exactly_the_models_transitions(machine):
    assert set(machine.names) == {t.name for t in machine.transitions()}


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.model.__name__)
def test_every_key_a_step_takes_is_described_and_every_staged_key_fills_a_column(machine):
    described = {key.name for key in machine.keys}
    for step in machine.steps:
        assert set(step.accepts) <= described, step.name
        assert set(step.requires) <= set(step.accepts), step.name
    columns = {f.name for f in machine.model._meta.get_fields()}
    assert set(machine.stages.values()) <= columns
    for key in machine.keys:
        if key.kind == "text":
            assert key.max_length, key.name  # every text has a limit the API and pages share


def test_the_readme_says_who_may_run_each_transition():
    table = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", README.read_text(), re.MULTILINE))
    for name in INCIDENT.names:
        said = set(re.findall(r"engineer|legal|executive|admin", table[name]))
        assert said == INCIDENT.who(name), name
