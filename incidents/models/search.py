"""Text search of incidents (``?search=``): a title contains the text, or a reference contains
it. The answer is exactly Django's ``icontains`` on both columns; an index only narrows the
rows that condition is checked on, so the answer does not depend on which index exists.

PostgreSQL: GIN trigram indexes (pg_trgm) on the very expressions ``icontains`` compiles to,
``UPPER("title"::text)``, which the planner uses by itself (migration incidents/0013).
SQLite: an FTS5 table with the trigram tokenizer over title and reference, kept in step by
triggers (the same migration). The planner cannot use it by itself, so the condition names it:
``id IN (SELECT rowid FROM ... MATCH ...)``, then ``icontains`` rechecks the few candidates
(FTS5 folds case beyond ASCII, SQLite's LIKE does not: the recheck keeps the old answer).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models
from django.db.models.expressions import RawSQL

FTS_TABLE = "incidents_incident_fts"
# The trigram tokenizer matches substrings of three characters or more (SQLite >= 3.34);
# shorter text cannot use it and is matched with LIKE alone.
TRIGRAM_MIN_LENGTH = 3
TRIGRAM_SQLITE = (3, 34, 0)
# How every reference begins (incidents/lifecycle.py ``create_incident``).
REFERENCE_PREFIX = "INC-"
# A text in this many incidents or more is searched with LIKE alone (``is_common``): a
# page's rows then lie at most a few thousand index entries apart.
COMMON = 1000


# The FTS5 table (external content: it holds only the index, the text stays in the incidents
# table) and the triggers that keep it in step. Migration 0013 creates them; a later migration
# that makes SQLite rebuild incidents_incident (most field changes do) drops the triggers with
# the old table, and ``restore_sqlite_search_index`` (after every migrate) puts them back.
FTS_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""AFTER INSERT ON incidents_incident BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, reference) VALUES (new.id, new.title, new.reference);
    END""",
    f"{FTS_TABLE}_delete": f"""AFTER DELETE ON incidents_incident BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, reference)
            VALUES ('delete', old.id, old.title, old.reference);
    END""",
    f"{FTS_TABLE}_update": f"""AFTER UPDATE OF title, reference ON incidents_incident BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, reference)
            VALUES ('delete', old.id, old.title, old.reference);
        INSERT INTO {FTS_TABLE}(rowid, title, reference) VALUES (new.id, new.title, new.reference);
    END""",
}
FTS_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"
SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, reference, "
    "content='incidents_incident', content_rowid='id', tokenize='trigram')",
    *(f"CREATE TRIGGER IF NOT EXISTS {name} {body}" for name, body in FTS_TRIGGERS.items()),
    FTS_REBUILD,
]
SQLITE_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in FTS_TRIGGERS),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def sqlite_has_trigram(db: Any = connection) -> bool:
    """Whether this SQLite library has the trigram tokenizer (migration 0013 made the FTS
    table only then)."""
    return db.Database.sqlite_version_info >= TRIGRAM_SQLITE


def restore_sqlite_search_index(db: Any = connection) -> bool:
    """Create the search triggers a table rebuild dropped, and refill the index from the
    incidents (rows written meanwhile were not indexed); True if anything was missing. Does
    nothing before migration 0013 or after it was reversed (no FTS table)."""
    if db.vendor != "sqlite" or not sqlite_has_trigram(db):
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        found = {name for _type, name in cursor.fetchall()}
        missing = [name for name in FTS_TRIGGERS if name not in found]
        if FTS_TABLE not in found or not missing:
            return False
        for name in missing:
            cursor.execute(f"CREATE TRIGGER {name} {FTS_TRIGGERS[name]}")
        cursor.execute(FTS_REBUILD)
    return True


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 string: every character literal (a quote doubled), so what a
    person types is never read as FTS5 syntax (``OR``, ``*``, ``:``)."""
    return '"' + text.replace('"', '""') + '"'


def title_or_reference(title: str, reference: str) -> models.Q:
    """The search condition: the title contains ``title`` or the reference contains
    ``reference`` (both ignoring case; ``reference`` comes uppercased).

    A reference is ``INC-<year>-<number>`` (incidents/lifecycle.py), uppercase, and nothing
    but its start can hold ``INC-``: a text that begins with it lies in a reference only at
    its start. So it is asked as a prefix, which the reference's B-tree pattern index (the
    ``_like`` one Django makes for a unique CharField on PostgreSQL) answers in a few pages;
    through the trigram index, a reference's trigrams (``INC``, ``-20``, ``202``...) are in
    every reference, and their lists grow with the table (bench/README.md, "Scale")."""
    in_reference = models.Q(reference__icontains=reference)
    if reference.startswith(REFERENCE_PREFIX):
        in_reference = models.Q(reference__startswith=reference)
    condition = models.Q(title__icontains=title) | in_reference
    if connection.vendor != "sqlite" or len(title) < TRIGRAM_MIN_LENGTH:
        return condition
    if not sqlite_has_trigram():
        return condition
    match = f"title : {fts_phrase(title)} OR reference : {fts_phrase(reference)}"
    if is_common(match):
        return condition
    candidates = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])
    return models.Q(id__in=candidates) & condition


def is_common(match: str) -> bool:
    """Whether at least ``COMMON`` incidents match: one bounded read of the FTS index.
    SQLite reads the whole candidate list before it sorts a page, so a text in thousands of
    titles costs more through the index than by LIKE along the sort's own index, which
    stops at the page's last row; a rare text is the other way round."""
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, COMMON])
        return cursor.fetchone()[0] >= COMMON
