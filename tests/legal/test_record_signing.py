"""Signed checkpoints (issue 19, section 3): the log head is signed every
RECORD_CHECKPOINT_EVERY events and at each export, and verify_record names a whole-chain rewrite
by someone without the key, a tampered signature and a missing checkpoint. Tampering is done
with raw SQL, as an attacker with database access would (the ORM refuses it)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.events import GENESIS_HASH, event_hash
from incidents.legal.record import walk_chain
from incidents.legal.record_signing import public_key_fingerprint, sign_checkpoint
from incidents.models import CheckpointReason, Event, LogHead, RecordCheckpoint, VerificationRun
from incidents.notes import add_note

pytestmark = pytest.mark.django_db

EVERY = 5


def verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_record", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def every(settings: Any) -> int:
    settings.RECORD_CHECKPOINT_EVERY = EVERY
    return EVERY


@pytest.fixture
def log(every: int, incident_in: Any, users: Any) -> list[Event]:
    """23 events across two incidents, interleaved: scheduled checkpoints at 1, 5, ..., 20."""
    first = incident_in("restored")
    second = incident_in("scoping")
    while Event.objects.count() < 23:
        target = first if Event.objects.count() % 2 else second
        add_note(target, actor=users["engineer"], text=f"note {Event.objects.count()}")
    return list(Event.objects.order_by("seq"))


def scheduled_seqs() -> list[int]:
    return list(RecordCheckpoint.objects.scheduled().values_list("seq", flat=True))


def rewrite_from(seq: int, title: str = "Nothing leaked") -> None:
    """What an attacker with database access but without the key can do: change an event and
    give it and every later event fresh, self-consistent hashes, then move the head along."""
    table = Event._meta.db_table
    prev_hash = Event.objects.get(seq=seq).prev_hash
    for event in Event.objects.filter(seq__gte=seq).select_related("incident").order_by("seq"):
        if event.seq == seq:
            event.data = {**event.data, "title": title}
        event.prev_hash = prev_hash
        event.hash = event_hash(event)
        sql(
            f"UPDATE {table} SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            json.dumps(event.data),
            event.prev_hash,
            event.hash,
            event.seq,
        )
        prev_hash = event.hash
    sql(f"UPDATE {LogHead._meta.db_table} SET hash = %s WHERE id = 1", prev_hash)


def test_the_first_event_and_every_nth_are_signed_in_the_same_transaction(log):
    assert scheduled_seqs() == [1, 5, 10, 15, 20]
    first, fifth = RecordCheckpoint.objects.scheduled()[:2]
    assert (first.prev_seq, fifth.prev_seq) == (0, 1)
    assert fifth.hash == Event.objects.get(seq=5).hash
    assert fifth.key_fingerprint == public_key_fingerprint()
    assert len(fifth.signature) == 128
    assert LogHead.objects.get().checkpoint_seq == 20


def test_intact_record_verifies_every_checkpoint(log):
    code, out, err = verify("--full")
    assert code == 0, err
    assert "signed checkpoints verified: 5" in out
    run = VerificationRun.objects.latest_run()
    assert run.ok and run.checkpoints == 5 and run.from_seq == 0 and run.checked == len(log)


def test_a_whole_chain_rewrite_without_the_key_is_named_at_the_first_checkpoint(log):
    rewrite_from(7)
    # The chain alone is fooled: every hash fits and every link holds.
    assert walk_chain().ok
    code, _, err = verify("--full")
    assert code == 1
    assert "BROKEN at event #10" in err and "signed checkpoint #10" in err
    assert VerificationRun.objects.latest_run().broken_seq == 10


def test_a_rewrite_is_named_by_the_incremental_run_too(log):
    assert verify()[0] == 0
    rewrite_from(3)  # before the checkpoint the daily run starts from
    code, _, err = verify()
    assert code == 1 and "signed checkpoint #5" in err


def test_a_tampered_signature_is_named(log):
    victim = RecordCheckpoint.objects.get(seq=10, why=CheckpointReason.EVERY)
    forged = ("0" if victim.signature[0] != "0" else "1") + victim.signature[1:]
    sql(
        f"UPDATE {RecordCheckpoint._meta.db_table} SET signature = %s WHERE id = %s",
        forged,
        victim.pk,
    )
    code, _, err = verify()
    assert code == 1
    assert "checkpoint #10 has a signature that does not verify" in err


def test_a_signature_verified_once_is_not_verified_again_until_it_changes(log, monkeypatch):
    """A process remembers the signatures it verified (a dossier's verification at years of
    events checked a thousand again each time); a signature or field changed after that is
    another message, verified afresh and refused."""
    from incidents.legal import record_checks

    assert verify()[0] == 0
    checked = []
    real_keys = record_checks.known_public_keys

    class Counting:
        def __init__(self, key: Any) -> None:
            self.key = key

        def verify(self, signature: bytes, data: bytes) -> None:
            checked.append(data)
            self.key.verify(signature, data)

    def counting_keys() -> dict[str, Any]:
        return {name: Counting(key) for name, key in real_keys().items()}

    monkeypatch.setattr(record_checks, "known_public_keys", counting_keys)
    assert verify()[0] == 0
    assert checked == []
    victim = RecordCheckpoint.objects.get(seq=10, why=CheckpointReason.EVERY)
    table = RecordCheckpoint._meta.db_table
    sql(f"UPDATE {table} SET prev_seq = %s WHERE id = %s", victim.prev_seq + 1, victim.pk)
    code, _, err = verify()
    assert code == 1 and "checkpoint #10 has a signature that does not verify" in err
    assert len(checked) == 1


def test_a_checkpoint_moved_to_a_rewritten_hash_no_longer_verifies(log):
    """Rewriting and then moving the checkpoints along to the new hashes needs the key."""
    rewrite_from(7)
    table = RecordCheckpoint._meta.db_table
    for checkpoint in RecordCheckpoint.objects.filter(seq__gte=7):
        new_hash = Event.objects.get(seq=checkpoint.seq).hash
        sql(f"UPDATE {table} SET hash = %s WHERE id = %s", new_hash, checkpoint.pk)
    code, _, err = verify("--full")
    assert code == 1 and "checkpoint #10 has a signature that does not verify" in err


def test_a_deleted_checkpoint_in_the_middle_is_named(log):
    sql(f"DELETE FROM {RecordCheckpoint._meta.db_table} WHERE seq = 10")
    code, _, err = verify()
    assert code == 1
    assert "the signed checkpoint at #10 is missing (the one at #15 follows it)" in err


def test_a_deleted_newest_checkpoint_is_named(log):
    sql(f"DELETE FROM {RecordCheckpoint._meta.db_table} WHERE seq = 20")
    code, _, err = verify()
    assert code == 1 and "the signed checkpoint expected at #20" in err and "missing" in err


def test_deleting_every_checkpoint_is_named(log):
    sql(f"DELETE FROM {RecordCheckpoint._meta.db_table}")
    code, _, err = verify()
    assert code == 1 and "no signed checkpoint" in err


def test_a_deleted_tail_is_named_by_the_export_checkpoint(log, incident_in):
    sign_checkpoint(CheckpointReason.EXPORT)
    survivor = log[-3]
    sql(f"DELETE FROM {Event._meta.db_table} WHERE seq > %s", survivor.seq)
    sql(
        f"UPDATE {LogHead._meta.db_table} SET seq = %s, hash = %s WHERE id = 1",
        survivor.seq,
        survivor.hash,
    )
    code, _, err = verify()
    assert code == 1 and f"#{log[-1].seq} names an event past the log's end" in err


def test_the_daily_run_walks_from_the_last_verified_checkpoint(log, users):
    assert verify()[0] == 0
    first = VerificationRun.objects.latest_run()
    assert first.from_seq == 0 and first.checked == 23
    incident = Event.objects.get(seq=23).incident
    for n in range(4):
        add_note(incident, actor=users["engineer"], text=f"later {n}")
    code, out, _ = verify()
    assert code == 0 and "from #20" in out
    run = VerificationRun.objects.latest_run()
    assert run.from_seq == 20 and run.checked == 27 - 20 + 1 and run.last_seq == 27


def test_only_full_sees_an_unhashed_edit_behind_the_last_verified_checkpoint(log):
    """The daily run trusts what the last good run walked, except at the checkpoints; the weekly
    --full walks everything (docs/legal.md)."""
    assert verify()[0] == 0
    sql(f"UPDATE {Event._meta.db_table} SET actor_username = %s WHERE seq = 12", "mallory")
    assert verify()[0] == 0
    code, _, err = verify("--full")
    assert code == 1 and "event #12 was changed" in err


def test_an_edited_start_event_is_seen_by_the_incremental_run(log):
    assert verify()[0] == 0
    sql(f"UPDATE {Event._meta.db_table} SET actor_username = %s WHERE seq = 20", "mallory")
    code, _, err = verify()
    assert code == 1 and "event #20 was changed" in err


def test_an_export_checkpoint_signs_the_incident_and_its_events(log):
    incident = Event.objects.get(seq=1).incident
    checkpoint = sign_checkpoint(CheckpointReason.EXPORT, incident=incident)
    assert checkpoint.seq == log[-1].seq and checkpoint.hash == log[-1].hash
    assert checkpoint.incident_reference == incident.reference
    assert len(checkpoint.events_digest) == 64
    assert verify()[0] == 0


def test_sign_on_demand_from_the_command(log):
    code, out, _ = verify("--sign")
    assert code == 0 and f"signed checkpoint: {log[-1].seq}:{log[-1].hash}" in out
    assert RecordCheckpoint.objects.filter(why=CheckpointReason.MANUAL).count() == 1


def test_an_empty_log_verifies_and_signs_the_genesis(db):
    assert verify()[0] == 0
    checkpoint = sign_checkpoint(CheckpointReason.MANUAL)
    assert (checkpoint.seq, checkpoint.hash) == (0, GENESIS_HASH)
    assert verify()[0] == 0


def test_a_verified_checkpoints_time_changed_afterwards_no_longer_verifies(log):
    """The memo holds each row as read, its time as the database's text: a moved time is a row
    not verified yet, so its signature is checked again and fails."""
    assert verify()[0] == 0
    victim = RecordCheckpoint.objects.get(seq=15, why=CheckpointReason.EVERY)
    later = victim.created_at + dt.timedelta(microseconds=1)
    RecordCheckpoint.objects.filter(pk=victim.pk).update(created_at=later)
    code, _, err = verify()
    assert code == 1 and "checkpoint #15 has a signature that does not verify" in err


def test_an_event_of_a_checkpoint_behind_the_start_deleted_is_named(log):
    assert verify()[0] == 0
    sql(f"DELETE FROM {Event._meta.db_table} WHERE seq = 10")
    code, _, err = verify()  # walks from #20: only the stored hashes see #10
    assert code == 1 and "event #10 of signed checkpoint #10 is missing" in err


def test_a_forged_checkpoint_off_the_chain_is_named_for_its_signature(log):
    """The comparison with the stored events reads every checkpoint, signed or not; at the
    seq of a forged one its failed signature is the problem named."""
    assert verify()[0] == 0
    forged = RecordCheckpoint.objects.get(seq=5, why=CheckpointReason.EVERY)
    sql(
        f"INSERT INTO {RecordCheckpoint._meta.db_table} (seq, prev_seq, hash, created_at, why, "
        "incident_reference, events_digest, signature, key_fingerprint) "
        "VALUES (7, 0, %s, %s, 'manual', '', '', %s, %s)",
        "f" * 64,
        forged.created_at,
        forged.signature,
        forged.key_fingerprint,
    )
    code, _, err = verify()
    assert code == 1 and "BROKEN at event #7" in err
    assert "checkpoint #7 has a signature that does not verify" in err


def test_verification_queries_do_not_grow_with_the_checkpoints(
    log, users, django_assert_max_num_queries
):
    """Every checkpoint is checked by every run, in one read of them and one comparison with
    the stored events, not a query per checkpoint (issue 21)."""
    assert verify()[0] == 0
    with CaptureQueriesContext(connection) as few:
        assert verify()[0] == 0
    incident = Event.objects.get(seq=23).incident
    while Event.objects.count() < 60:
        add_note(incident, actor=users["engineer"], text="later")
    assert verify()[0] == 0 and RecordCheckpoint.objects.count() == 13
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert verify()[0] == 0
