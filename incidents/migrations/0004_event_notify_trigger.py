"""On PostgreSQL, every INSERT into the event log sends NOTIFY breach_desk_events.

PostgreSQL delivers a NOTIFY only when its transaction commits (and drops it on rollback), which
is exactly when the notifier worker should wake: so the wake-up lives in the database, beside the
insert, instead of in a Python after-commit hook. Other databases poll (NOTIFIER_POLL_SECONDS).
"""

from django.db import migrations

CREATE = (
    """CREATE OR REPLACE FUNCTION incidents_event_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('breach_desk_events', '');
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER incidents_event_notify
        AFTER INSERT ON incidents_event
        FOR EACH STATEMENT EXECUTE FUNCTION incidents_event_notify()""",
)
DROP = (
    "DROP TRIGGER IF EXISTS incidents_event_notify ON incidents_event",
    "DROP FUNCTION IF EXISTS incidents_event_notify()",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_verbose_names")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
