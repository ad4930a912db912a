"""The tamper-evident record: verify_record confirms an intact chain and names the first
broken event after an edit or a deletion; --expect catches a deleted tail. Tampering is done
with raw SQL, as an attacker with database access would (the ORM refuses it)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from incidents.models import Event, LogHead, VerificationRun

pytestmark = pytest.mark.django_db


def verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_record", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def log(incident_in: Any) -> list[Event]:
    incident_in("restored")
    incident_in("scoping")
    return list(Event.objects.order_by("seq"))


def sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_intact_chain_verifies_with_exit_0_and_is_stored(log):
    code, out, _ = verify()
    assert code == 0 and f"{len(log)} events" in out
    run = VerificationRun.objects.latest_run()
    assert run.ok and run.checked == len(log) and run.last_hash == log[-1].hash


def test_edited_event_is_named(log):
    victim = log[2]
    table = Event._meta.db_table
    sql(f"UPDATE {table} SET actor_username = %s WHERE seq = %s", "mallory", victim.seq)
    code, _, err = verify()
    assert code == 1
    assert f"event #{victim.seq}" in err and "changed" in err
    assert VerificationRun.objects.latest_run().broken_seq == victim.seq


def test_edited_data_is_detected_even_when_the_hash_is_recomputed_in_place(log):
    from incidents.events import event_hash

    victim = Event.objects.get(seq=log[1].seq)
    victim.data = {"title": "something else"}
    forged = event_hash(victim)
    sql(
        f"UPDATE {Event._meta.db_table} SET data = %s, hash = %s WHERE seq = %s",
        '{"title": "something else"}',
        forged,
        victim.seq,
    )
    code, _, err = verify()
    # The forged hash fits the event but the next event still links to the old one.
    assert code == 1 and f"event #{victim.seq + 1}" in err


def test_deleted_event_in_the_middle_is_named(log):
    victim = log[3]
    sql(f"DELETE FROM {Event._meta.db_table} WHERE seq = %s", victim.seq)
    code, _, err = verify()
    assert code == 1 and f"event #{victim.seq} is missing" in err


def test_deleted_tail_is_caught_by_the_kept_checkpoint(log):
    code, out, _ = verify("--checkpoint")
    assert code == 0
    kept = out.strip().splitlines()[-1].removeprefix("checkpoint: ")
    assert kept == f"{log[-1].seq}:{log[-1].hash}"
    assert verify("--expect", kept)[0] == 0
    # The attacker removes the newest two events and rewinds the head to match.
    survivor = log[-3]
    sql(f"DELETE FROM {Event._meta.db_table} WHERE seq > %s", survivor.seq)
    sql(
        f"UPDATE {LogHead._meta.db_table} SET seq = %s, hash = %s WHERE id = 1",
        survivor.seq,
        survivor.hash,
    )
    assert verify()[0] == 0  # the chain alone cannot see it ...
    code, _, err = verify("--expect", kept)
    assert code == 1 and "deleted" in err  # ... the kept checkpoint can


def test_deleted_tail_with_the_head_left_alone_is_caught_without_a_checkpoint(log):
    sql(f"DELETE FROM {Event._meta.db_table} WHERE seq = %s", log[-1].seq)
    code, _, err = verify()
    assert code == 1 and "missing" in err


def test_bad_expect_argument_is_a_clear_error(log):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="SEQ:HASH"):
        call_command("verify_record", "--expect", "12-abc")


def test_verification_endpoint_is_for_legal_and_admins(log, api):
    assert api("legal").get("/api/record/verification/").json() == {"latest": None}
    ran = api("admin").post("/api/record/verification/")
    assert ran.status_code == 200 and ran.json()["latest"]["ok"] is True
    latest = api("legal").get("/api/record/verification/").json()["latest"]
    assert latest["source"] == "api" and latest["last_seq"] == log[-1].seq
    # what the walk covered: from a signed checkpoint (or 0: the whole chain), and how many
    # checkpoints' signatures it checked
    assert latest["from_seq"] >= 0 and latest["checkpoints"] >= 1
    for role in ("engineer", "executive"):
        assert api(role).get("/api/record/verification/").status_code == 403
        assert api(role).post("/api/record/verification/").status_code == 403
