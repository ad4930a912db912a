"""A dossier's cost follows its own incident, not the whole log (issue 21): its verification
starts from the newest signed checkpoint the last good run covered, and nothing else it reads
grows with other incidents' events."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.legal.dossier_export import export_json
from incidents.legal.dossier_parts import gather
from incidents.legal.record import verify_record
from incidents.legal.record_proof import proof_files
from incidents.legal.record_signing import sign_checkpoint
from incidents.models import Incident, LogHead, RecordCheckpoint
from incidents.notes import add_note

EVERY = 5


@pytest.fixture
def exported(users: dict[str, Any], incident_in: Any, settings: Any) -> Incident:
    """The incident to export, with a few notes, and a good verification run of the log."""
    settings.RECORD_CHECKPOINT_EVERY = EVERY
    incident = incident_in("scoping")
    for i in range(3):
        add_note(incident, actor=users["engineer"], text=f"note {i}")
    assert verify_record().ok
    return incident


def export_parts(incident: Incident) -> Any:
    """What an export reads and writes but the typesetting: the signed checkpoint, the parts
    gathered (the record verified), the JSON and the proof files."""
    checkpoint = sign_checkpoint(incident=incident)
    data = gather(incident)
    export_json(data)
    proof_files(incident, checkpoint)
    return data


def busy_elsewhere(incident_in: Any, incidents: int) -> None:
    """Other incidents' events, crossing several scheduled checkpoints."""
    for _ in range(incidents):
        incident_in("restored")


def test_dossier_queries_do_not_grow_with_other_incidents_events(
    exported, incident_in, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as first:
        export_parts(exported)
    busy_elsewhere(incident_in, 4)
    assert verify_record().ok
    with django_assert_num_queries(len(first.captured_queries)):
        export_parts(exported)


def test_dossier_verification_starts_at_the_checkpoint_the_last_good_run_covered(
    exported, incident_in
):
    busy_elsewhere(incident_in, 2)
    covered = verify_record()
    busy_elsewhere(incident_in, 2)  # after the last good run: walked by the dossier's
    run = export_parts(exported).verification
    start = RecordCheckpoint.objects.filter(seq__lte=covered.last_seq).order_by("-seq").first()
    head = LogHead.objects.latest_seq()
    assert run.ok and run.source == "dossier"
    assert start.seq > 1 and run.from_seq == start.seq
    # From the checkpoint's own event to the head, not the whole log.
    assert run.checked == head - start.seq + 1 < head


def test_dossier_reads_neither_the_incidents_nor_the_log_whole(exported, incident_in):
    """Every read of the incidents or the log names what it wants: a walk from a checkpoint
    once read every incident's reference to hash a page of events."""
    busy_elsewhere(incident_in, 3)
    assert verify_record().ok
    with CaptureQueriesContext(connection) as reads:
        export_parts(exported)
    whole = [
        q["sql"]
        for q in reads.captured_queries
        if q["sql"].startswith("SELECT")
        and ('FROM "incidents_incident"' in q["sql"] or 'FROM "incidents_event"' in q["sql"])
        and " WHERE " not in q["sql"]
    ]
    assert whole == []
