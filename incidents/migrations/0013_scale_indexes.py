# Issue 21 (scale): indexes for the incident lists' sorts, the open obligations by due time and
# one incident's events by seq; and an index for the lists' text search (incidents/models/
# search.py): on PostgreSQL pg_trgm GIN indexes on the expressions ``icontains`` compiles to,
# on SQLite an FTS5 trigram table kept in step by triggers. Other vendors keep plain LIKE.

from django.db import migrations, models

from incidents.models.search import SQLITE_CREATE, SQLITE_DROP

PG_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Exactly Django's icontains left-hand side, so the planner matches the index by itself.
    "CREATE INDEX IF NOT EXISTS incident_title_trgm ON incidents_incident "
    'USING gin ((UPPER("title"::text)) gin_trgm_ops)',
    "CREATE INDEX IF NOT EXISTS incident_reference_trgm ON incidents_incident "
    'USING gin ((UPPER("reference"::text)) gin_trgm_ops)',
]
# The extension stays: other objects may use it, and keeping it undoes nothing.
PG_DROP = [
    "DROP INDEX IF EXISTS incident_title_trgm",
    "DROP INDEX IF EXISTS incident_reference_trgm",
]

# The trigram tokenizer came with SQLite 3.34; older libraries keep LIKE (search.py checks
# the same version).
TRIGRAM_SQLITE = (3, 34, 0)


def statements(connection, pg, sqlite):
    if connection.vendor == "postgresql":
        return pg
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= TRIGRAM_SQLITE:
        return sqlite
    return []


def create_search_index(apps, schema_editor):
    for sql in statements(schema_editor.connection, PG_CREATE, SQLITE_CREATE):
        schema_editor.execute(sql)


def drop_search_index(apps, schema_editor):
    for sql in statements(schema_editor.connection, PG_DROP, SQLITE_DROP):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0012_runbook_seed"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["incident", "seq"], name="event_incident_seq"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["detected_at", "ref_year", "ref_number"], name="incident_sort_detected_at"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["updated_at", "ref_year", "ref_number"], name="incident_sort_updated_at"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["aware_at", "ref_year", "ref_number"], name="incident_sort_aware_at"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["created_at", "ref_year", "ref_number"], name="incident_sort_created_at"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["state", "-ref_year", "-ref_number"], name="incident_sort_state_up"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["state", "ref_year", "ref_number"], name="incident_sort_state_down"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["severity", "-ref_year", "-ref_number"], name="incident_sort_severity_up"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["severity", "ref_year", "ref_number"], name="incident_sort_severity_down"
            ),
        ),
        migrations.AddIndex(
            model_name="obligation",
            index=models.Index(fields=["state", "due_at", "id"], name="obligation_open_due"),
        ),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
