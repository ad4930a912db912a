"""The bulk half of the scale benchmark's data (bench/scale_data.py): clones of the terminal
domain incidents, with their events chained and hashed as ``append_event`` would, the signed
checkpoints production would have made, and the rows that hang off each incident."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from io import StringIO
from types import SimpleNamespace
from typing import Any

from bench.scale_data import BATCH, YEARS

# What is copied with each clone besides its events (each has an ``incident_id``).
CHILDREN = (
    "incidents.Obligation",
    "incidents.Task",
    "incidents.StatusUpdate",
    "incidents.NotificationDecision",
    "incidents.Incident_members",
)

Plan = list[tuple[dict[str, Any], dt.timedelta]]  # (template incident's row, shift) per clone
PREPARED = {"DateTimeField", "JSONField"}  # the column types the driver cannot take as they are


class _Table:
    """Rows for one table, inserted with ``executemany`` and ids given here: at a million
    events, Django's per-value compilation in ``bulk_create`` was most of the build's time,
    and ids known in advance let the events' and children's rows name their incident without
    reading it back. Values of PREPARED types go through the field's ``get_db_prep_save``."""

    def __init__(self, model: Any) -> None:
        from django.db import DEFAULT_DB_ALIAS, connections

        # The connection object itself: ``django.db.connection`` is a proxy looked up per use.
        self.connection = connection = connections[DEFAULT_DB_ALIAS]
        self.model, self.pk = model, model._meta.pk.attname
        fields = model._meta.concrete_fields
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"
        self.columns = [
            (f.attname, f.get_default(), f if f.get_internal_type() in PREPARED else None)
            for f in fields
        ]
        self.next_id = (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        self.rows: list[tuple] = []

    def add(self, values: dict[str, Any]) -> int:
        pk, self.next_id = self.next_id, self.next_id + 1
        values[self.pk] = pk
        row = []
        for name, default, prepared in self.columns:
            value = values.get(name, default)
            if prepared is not None:
                value = prepared.get_db_prep_save(value, self.connection)
            row.append(value)
        self.rows.append(tuple(row))
        return pk

    def flush(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, self.rows)
        self.rows = []


def bulk_phase(count: int, now: dt.datetime) -> None:
    """``count`` clones of the terminal domain incidents (open incidents are recent ones, so
    their number does not grow with the years), detected evenly over the five years, oldest
    first, in one transaction."""
    from django.core.management import call_command
    from django.db import connection, transaction

    templates = _templates()
    if connection.vendor == "sqlite":
        # Bench-only, for a throw-away build: no fsync, a large page cache.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-200000")
    ids = [t["id"] for t in templates]
    events = _rows_by_incident("incidents.Event", ids, order="seq")
    children = {label: _rows_by_incident(label, ids, order="pk") for label in CHILDREN}
    span = dt.timedelta(days=365 * YEARS)
    with transaction.atomic():
        writer = _LogWriter()
        incidents = _Incidents()
        tables = {label: _Table(_model(label)) for label in CHILDREN}
        for start in range(0, count, BATCH):
            plan = []
            for k in range(start, min(start + BATCH, count)):
                template = templates[k % len(templates)]
                detected = now - span * (count - k) / count
                # The template's own moments were stamped when it was built (only detection and
                # awareness were backdated): the clone's are as long after its detection as the
                # template's were after its creation (_Incidents.add sets detection itself).
                plan.append((template, detected - template["created_at"]))
            clones = incidents.add(plan)
            writer.append(clones, plan, events)
            for label, table in tables.items():
                _clone_rows(table, clones, plan, children[label])
        writer.finish()
        if connection.vendor == "postgresql":  # the ids given here moved past the sequences
            with connection.cursor() as cursor:
                reset = call_command("sqlsequencereset", "incidents", "notifier", stdout=StringIO())
                cursor.execute(reset)


def _templates() -> list[dict[str, Any]]:
    from django.db.models import Count

    from incidents.choices import State
    from incidents.models import Incident

    names = [f.attname for f in Incident._meta.concrete_fields]
    terminal = [State.CLOSED, State.REFERRED, State.DISMISSED]
    return list(
        Incident.objects.filter(state__in=terminal)
        .annotate(n=Count("events"))
        .filter(n__lt=30)  # not the long-timeline incidents: there is one of each
        .order_by("id")
        .values(*names)
    )


def _model(label: str) -> Any:
    from django.apps import apps

    if label == "incidents.Incident_members":
        return apps.get_model("incidents.Incident").members.through
    return apps.get_model(label)


def _rows_by_incident(label: str, ids: list[int], order: str) -> dict[int, list]:
    """The templates' rows of ``label`` as plain dicts of column values (no id), by incident."""
    model = _model(label)
    names = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    rows: dict[int, list] = defaultdict(list)
    for row in model.objects.filter(incident_id__in=ids).order_by(order).values(*names):
        rows[row["incident_id"]].append(row)
    return rows


def _shifted(row: dict[str, Any], delta: dt.timedelta) -> dict[str, Any]:
    return {k: v + delta if isinstance(v, dt.datetime) else v for k, v in row.items()}


class _Incidents:
    """New incidents like their templates, every moment shifted; references numbered per year
    of detection, after the highest number that year already has."""

    def __init__(self) -> None:
        from django.db.models import Max

        from incidents.models import Incident

        self.table = _Table(Incident)
        numbers = Incident.objects.values_list("ref_year").annotate(n=Max("ref_number"))
        self.last = dict(numbers.order_by())

    def add(self, plan: Plan) -> list[tuple[int, str]]:
        """Writes the batch; returns each clone's (id, reference)."""
        clones = []
        for template, delta in plan:
            values = _shifted(template, delta)
            detected = template["created_at"] + delta
            values["aware_at"] = detected + (template["aware_at"] - template["detected_at"])
            values["detected_at"] = detected
            year = detected.year
            self.last[year] = number = self.last.get(year, 0) + 1
            reference = f"INC-{year}-{number:04d}"
            values.update(ref_year=year, ref_number=number, reference=reference)
            clones.append((self.table.add(values), reference))
        self.table.flush()
        return clones


def _clone_rows(table: _Table, clones: list[tuple[int, str]], plan: Plan, rows: dict) -> None:
    for (pk, _), (template, delta) in zip(clones, plan, strict=True):
        for row in rows.get(template["id"], ()):
            table.add({**_shifted(row, delta), "incident_id": pk})
    table.flush()


class _LogWriter:
    """Appends the clones' events after the log head exactly as ``append_event`` would: seq
    continuing, each ``prev_hash`` the previous hash, each hash by ``event_hash``, and a signed
    scheduled checkpoint at every multiple of RECORD_CHECKPOINT_EVERY (one Ed25519 signature
    each, ~1,000 for a million events, so all of them are made: the record looks exactly as if
    the events had been appended one by one). High and critical incidents' creations get the
    Telegram alert's delivery row the notifier would have written."""

    def __init__(self) -> None:
        from incidents.models import Event, LogHead
        from notifier.models import Delivery

        self.head = LogHead.objects.get(id=1)
        self.checkpoints: list[Any] = []
        self.events, self.deliveries = _Table(Event), _Table(Delivery)

    def append(self, clones: list[tuple[int, str]], plan: Plan, events: dict) -> None:
        from incidents.events import event_hash

        for (pk, reference), (template, delta) in zip(clones, plan, strict=True):
            for row in events.get(template["id"], ()):
                event = SimpleNamespace(**_shifted(row, delta))
                event.seq, event.prev_hash = self.head.seq + 1, self.head.hash
                event.hash = event_hash(event, reference=reference)
                event.id = self.events.add({**vars(event), "incident_id": pk})
                self.head.seq, self.head.hash = event.seq, event.hash
                self._checkpoint_if_due(event.created_at)
                if event.kind == "created" and template["severity"] in ("high", "critical"):
                    self.deliveries.add(_delivery(event, pk))
        self.events.flush()
        self.deliveries.flush()

    def _checkpoint_if_due(self, at: dt.datetime) -> None:
        from django.conf import settings

        from core import record_key
        from incidents.legal.record_signing import signing_key
        from incidents.legal.signed_form import signed_bytes
        from incidents.models import CheckpointReason, RecordCheckpoint

        if self.head.seq % settings.RECORD_CHECKPOINT_EVERY:
            return
        key = signing_key()
        checkpoint = RecordCheckpoint(
            seq=self.head.seq,
            hash=self.head.hash,
            prev_seq=self.head.checkpoint_seq,
            created_at=at.astimezone(dt.UTC),
            why=CheckpointReason.EVERY,
            key_fingerprint=record_key.fingerprint(key.public_key()),
        )
        checkpoint.signature = key.sign(signed_bytes(checkpoint)).hex()
        self.checkpoints.append(checkpoint)
        self.head.checkpoint_seq = self.head.seq

    def finish(self) -> None:
        from incidents.models import RecordCheckpoint

        RecordCheckpoint.objects.bulk_create(self.checkpoints, batch_size=BATCH)
        self.head.save(update_fields=["seq", "hash", "checkpoint_seq"])


def _delivery(event: Any, incident_id: int) -> dict[str, Any]:
    return {
        "key": f"event:{event.seq}:1001",
        "kind": "alert",
        "event_id": event.id,
        "incident_id": incident_id,
        "chat_id": 1001,
        "text": "alert",
        "status": "sent",
        "attempts": 1,
        "next_attempt_at": event.created_at,
        "sent_at": event.created_at,
        "created_at": event.created_at,
    }
