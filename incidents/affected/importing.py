"""Importing affected people from a CSV file (issue 18 part 2).

The file: UTF-8, with or without a byte order mark; lines end with LF or CRLF; the first line
names the columns, each once, from ``customer_id, name, email, mobile, language`` in any order
and any case (``customer_id`` and at least one of ``email``/``mobile`` required); any other
column is refused by name. Blank lines (and lines of empty cells, which spreadsheets leave at
the end) are ignored. Each line is a person checked as incidents/affected/contacts.py says.

The answer counts ``imported`` and ``skipped`` people and lists ``errors`` as
``{line, field, detail}`` (the first MAX_REPORTED_ERRORS of ``error_count``). If any line is
wrong, nothing is imported. ``skipped`` is a person whose customer id is already in this
incident's register, or appeared on an earlier line of the same file (the first line wins).
Skipped lines are still checked: a wrong line is an error even if it would be skipped.

Two passes, the second under the lock. The first reads the file (which Django has already kept
whole, in memory or a temporary file) line by line, checks and normalises each person, seals
them and writes the sealed row to a spool (a temporary file of tokens and keyed hashes, never
anything in clear), without a lock or a transaction: a file wrong on its last line costs no
writes and no rollback, and never holds the incident's row or SQLite's one writer. The second,
in one transaction under the incident's lock (``changing``), reads the spool back and inserts
it in batches, skipping customers the register holds by then, and appends the event: a failure
half-way (the database going away) leaves nothing half-imported, a person added meanwhile by
someone else is skipped, not duplicated, and the lock is held for the inserts only (what a
100,000-person import takes: bench/README.md, "Affected-people import"). What memory holds is
the set of customer hashes seen (100,000 take some 15 MB) and one batch, never the people.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.utils.translation import gettext as _

from core.errors import DomainError
from incidents.affected.contacts import FIELDS, Person, PersonInvalid, clean_person, customer_hash
from incidents.affected.register import (
    IMPORTED,
    ensure_may_keep_register,
    ensure_open,
    listed,
    sealed_values,
)
from incidents.changing import changing
from incidents.events import append_event
from incidents.models import AffectedPerson, Incident

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 200
BATCH = 500
# No valid line comes near this (the longest fields, in Persian, are some 1.2 KB); a longer one
# is refused without being held whole.
LINE_MAX_BYTES = 8192
# A sealed row in the spool: tab-separated (tokens and hashes hold no tab), in this order.
SPOOLED = (
    "customer_hash",
    "email_hash",
    "mobile_hash",
    "has_email",
    "has_mobile",
    "language",
    "sealed",
)
# The spool moves to a temporary file past this (100,000 sealed rows are some 45 MB).
SPOOL_IN_MEMORY = 4 * 1024 * 1024
REQUIRED = ("customer_id",)
REACHABLE = ("email", "mobile")


@dataclass
class ImportResult:
    dry_run: bool = False
    imported: int = 0
    skipped: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, field: str | None, detail: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "field": field, "detail": detail})

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": self.errors,
            "error_count": self.error_count,
            "dry_run": self.dry_run,
        }


class ImportInvalid(DomainError):
    """A file with wrong lines: 400 with the whole answer (nothing was imported)."""

    status = 400

    def __init__(self, result: ImportResult) -> None:
        message = _("%(count)d problems found; nothing was imported.")
        # Nothing happened, so nothing was imported or skipped, whatever the valid lines were.
        body = {**result.as_dict(), "imported": 0, "skipped": 0}
        del body["dry_run"]  # the key a bad ?dry_run= names in a 400 (one shape per key)
        super().__init__(message % {"count": result.error_count}, **body)
        self.result = result


def import_people(
    incident: Incident, upload: IO[bytes], *, actor: Any, dry_run: bool = False
) -> ImportResult:
    """Import the people a CSV file lists into the register of an incident the actor sees
    (``upload``: a seekable binary file, like Django's uploaded files). With ``dry_run`` only
    check and count. RoleForbidden, EditNotAllowed, or ImportInvalid with every error."""
    ensure_may_keep_register(actor)
    ensure_open(incident)
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, mode="w+", encoding="ascii") as spool:
        checked = _check(incident, upload, None if dry_run else spool)
        if checked.error_count:
            logger.info(
                "register import into %s refused: %d problems",
                incident.reference,
                checked.error_count,
            )
            raise ImportInvalid(checked)
        if dry_run:
            return checked
        return _write(incident, spool, actor, skipped=checked.skipped)


def _check(incident: Incident, upload: IO[bytes], spool: IO[str] | None) -> ImportResult:
    """The first pass: every line checked; each new person sealed into ``spool`` (until a
    first error: nothing will be written then). A dry run (no spool) counts against the
    register as it is; an import counts again under the lock."""
    result = ImportResult(dry_run=spool is None)
    seen = listed(incident) if spool is None else set()
    for person, key in _people(upload, result, seen):
        result.imported += 1
        if spool is not None and not result.error_count:
            values = sealed_values(person, key)
            spool.write("\t".join(_spooled(values[name]) for name in SPOOLED) + "\n")
    return result


def _write(incident: Incident, spool: IO[str], actor: Any, *, skipped: int) -> ImportResult:
    """The second pass: the spool's rows inserted under the incident's lock, but for customers
    the register holds by now; ``skipped`` are the file's own repeats, counted already."""
    result = ImportResult(skipped=skipped)
    with changing(incident) as locked:
        ensure_open(locked)
        present = listed(locked)
        spool.seek(0)
        while lines := list(islice(spool, BATCH)):
            rows = [
                AffectedPerson(incident=locked, added_by=actor, **values)
                for values in map(_unspooled, lines)
                if values["customer_hash"] not in present
            ]
            insert_rows(rows)
            result.imported += len(rows)
            result.skipped += len(lines) - len(rows)
        if result.imported:
            data = {"imported": result.imported, "skipped": result.skipped}
            append_event(locked, IMPORTED, actor=actor, data=data)
    logger.info(
        "register import into %s: %d imported, %d skipped",
        incident.reference,
        result.imported,
        result.skipped,
    )
    return result


def _spooled(value: str | bool) -> str:
    return ("1" if value else "") if isinstance(value, bool) else value


def _unspooled(line: str) -> dict[str, Any]:
    values: dict[str, Any] = dict(zip(SPOOLED, line.rstrip("\n").split("\t"), strict=True))
    values["has_email"], values["has_mobile"] = (
        values["has_email"] == "1",
        values["has_mobile"] == "1",
    )
    return values


def insert_rows(rows: list[AffectedPerson]) -> None:
    """INSERT the rows with the ORM's ``bulk_create`` (ids not read back: nobody needs them)."""
    AffectedPerson.objects.bulk_create(rows, batch_size=BATCH)


def _people(
    upload: IO[bytes], result: ImportResult, seen: set[str]
) -> Iterator[tuple[Person, str]]:
    """Each valid person of the file with their customer hash, if that hash is not ``seen``
    (the register's, then the file's own as it is read: either counts as skipped); wrong lines
    go to ``result``."""
    for line, values in _records(upload, result):
        try:
            person = clean_person(values)
        except PersonInvalid as invalid:
            for name, message in invalid.errors:
                result.error(line, name, message)
            continue
        key = customer_hash(person.customer_id)
        if key in seen:
            result.skipped += 1
            continue
        seen.add(key)
        yield person, key


def _records(upload: IO[bytes], result: ImportResult) -> Iterator[tuple[int, dict[str, str]]]:
    """(first line number, {column: cell}) for each non-blank line after the header."""
    lines = _Lines(upload, result)
    reader = csv.reader(lines, strict=True)
    columns: list[str] | None = None
    try:
        for cells in reader:
            start, lines.start = lines.start, lines.number + 1
            if columns is None:
                if not any(cell.strip() for cell in cells):
                    break  # a blank first line: no header
                columns = _columns(cells, result)
                if columns is None:
                    return
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                message = _("This line has %(found)d fields; the header has %(expected)d.")
                result.error(start, None, message % {"found": len(cells), "expected": len(columns)})
                continue
            yield start, dict(zip(columns, cells, strict=True))
    except csv.Error:
        message = _(
            "This is not well-formed CSV (a quote opened and not closed?); the rest of "
            "the file was not read."
        )
        result.error(lines.start, None, message)
        return
    if columns is None:
        message = _(
            "The first line must name the columns (%(columns)s); this file's is blank or the file "
            "is empty."
        )
        result.error(1, None, message % {"columns": ", ".join(FIELDS)})


def _columns(cells: list[str], result: ImportResult) -> list[str] | None:
    """The header's column names, or None after recording what is wrong with it (line 1)."""
    names = [cell.strip().lower() for cell in cells]
    for cell, name in zip(cells, names, strict=True):
        if name not in FIELDS:
            message = _('Unknown column "%(name)s"; the columns are: %(columns)s.')
            if len(cells) == 1 and (";" in cell or "\t" in cell):
                message = _("Columns must be separated by commas; the columns are: %(columns)s.")
            result.error(1, cell, message % {"name": cell, "columns": ", ".join(FIELDS)})
    for name in sorted({n for n in names if names.count(n) > 1 and n in FIELDS}):
        result.error(1, name, _("This column appears more than once."))
    for name in REQUIRED:
        if name not in names:
            result.error(1, name, _("This column is required."))
    if not any(name in names for name in REACHABLE):
        result.error(1, None, _("The file needs an email or a mobile column (or both)."))
    return None if result.error_count else names


class _Lines:
    """The upload's lines as text for ``csv.reader``, counting physical lines (``number``:
    lines read so far; ``start``: where the record being read began). A line that is not UTF-8
    or longer than LINE_MAX_BYTES is an error, read past without being held whole."""

    def __init__(self, upload: IO[bytes], result: ImportResult) -> None:
        self.upload, self.result = upload, result
        self.number, self.start = 0, 1

    def __iter__(self) -> Iterator[str]:
        self.upload.seek(0)
        while raw := self.upload.readline(LINE_MAX_BYTES + 1):
            self.number += 1
            if len(raw) > LINE_MAX_BYTES:
                self._skip_rest(raw)
                message = _("This line is longer than %(max)d bytes.")
                self.result.error(self.number, None, message % {"max": LINE_MAX_BYTES})
                yield "\n"  # an empty line, so csv's count and ours stay together
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                message = _("This line is not UTF-8 text (save the file as CSV UTF-8).")
                self.result.error(self.number, None, message)
                text = raw.decode("utf-8", errors="replace")
            yield text.removeprefix("\ufeff") if self.number == 1 else text

    def _skip_rest(self, raw: bytes) -> None:
        while not raw.endswith(b"\n") and raw:
            raw = self.upload.readline(LINE_MAX_BYTES)
