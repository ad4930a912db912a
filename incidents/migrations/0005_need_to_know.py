"""Need-to-know incidents (issue 17): the restricted flag, the member list, and the access log.

On PostgreSQL a trigger refuses UPDATE and DELETE of access records, so the log stays
append-only even for SQL that bypasses the ORM (the model and the admin refuse too). TRUNCATE,
which the test suite's flush uses, fires no row trigger. SQLite's flush deletes rows, so there
the ORM's refusal is the guard.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION incidents_accessrecord_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'access records are append-only';
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER incidents_accessrecord_append_only
        BEFORE UPDATE OR DELETE ON incidents_accessrecord
        FOR EACH ROW EXECUTE FUNCTION incidents_accessrecord_append_only()""",
)
DROP = (
    "DROP TRIGGER IF EXISTS incidents_accessrecord_append_only ON incidents_accessrecord",
    "DROP FUNCTION IF EXISTS incidents_accessrecord_append_only()",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in APPEND_ONLY:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_event_notify_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="members",
            field=models.ManyToManyField(
                blank=True, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="members"
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="restricted",
            field=models.BooleanField(default=False, editable=False, verbose_name="restricted"),
        ),
        migrations.CreateModel(
            name="AccessRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("incident.opened", "Restricted incident opened"),
                            ("evidence.downloaded", "Evidence downloaded"),
                            ("dossier.exported", "Dossier exported"),
                        ],
                        max_length=40,
                        verbose_name="kind",
                    ),
                ),
                ("target", models.CharField(blank=True, max_length=80, verbose_name="object")),
                ("username", models.CharField(max_length=150, verbose_name="username")),
                ("at", models.DateTimeField(db_index=True, verbose_name="time")),
                (
                    "address",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="client address"
                    ),
                ),
                (
                    "user_agent",
                    models.CharField(blank=True, max_length=400, verbose_name="user agent"),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="access_records",
                        to="incidents.incident",
                        verbose_name="incident",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "access record",
                "verbose_name_plural": "access records",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["incident", "id"], name="incidents_a_inciden_be72bc_idx"),
                    models.Index(fields=["user", "id"], name="incidents_a_user_id_268814_idx"),
                ],
            },
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
