# The public "Am I affected?" check (issue 18, "On the site"): the pending check and its code
# message's outbox row (incidents/models/checks.py), a new kind of access record for a check
# that found the person, and on PostgreSQL the notifier's wake-up on each new check, so a code
# leaves within moments, not at the worker's next idle look.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# The function of migration 0004 (NOTIFY breach_desk_events), fired by one more table.
CREATE = """CREATE TRIGGER incidents_affectedcheck_notify
    AFTER INSERT ON incidents_affectedcheck
    FOR EACH STATEMENT EXECUTE FUNCTION incidents_event_notify()"""
DROP = "DROP TRIGGER IF EXISTS incidents_affectedcheck_notify ON incidents_affectedcheck"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0007_notices'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accessrecord',
            name='kind',
            field=models.CharField(choices=[('incident.opened', 'Restricted incident opened'), ('evidence.downloaded', 'Evidence downloaded'), ('dossier.exported', 'Dossier exported'), ('register.read', 'Affected-people register read'), ('register.checked', 'Affected-people register checked by the person')], max_length=40, verbose_name='kind'),
        ),
        migrations.CreateModel(
            name='AffectedCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('handle', models.CharField(editable=False, max_length=32, unique=True)),
                ('channel', models.CharField(choices=[('email', 'Email'), ('sms', 'SMS')], max_length=8, verbose_name='channel')),
                ('language', models.CharField(choices=[('fa', 'Persian'), ('en', 'English')], max_length=2, verbose_name='language')),
                ('address_hash', models.CharField(blank=True, editable=False, max_length=64)),
                ('sealed', models.TextField(blank=True, editable=False)),
                ('code_hash', models.CharField(blank=True, editable=False, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('expires_at', models.DateTimeField(verbose_name='expires at')),
                ('tries', models.PositiveSmallIntegerField(default=0, verbose_name='codes entered')),
                ('verified_at', models.DateTimeField(blank=True, null=True, verbose_name='verified at')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sent', 'Sent'), ('failed', 'Failed (will retry)'), ('dead', 'Dead')], default='queued', max_length=8, verbose_name='message')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='attempts')),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('claimed_until', models.DateTimeField(blank=True, null=True)),
                ('claim_token', models.CharField(blank=True, max_length=32)),
                ('attempted_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                ('last_error', models.TextField(blank=True, max_length=2000, verbose_name='last error')),
                ('incident', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='incidents.incident', verbose_name='incident')),
            ],
            options={
                'verbose_name': 'affected check',
                'verbose_name_plural': 'affected checks',
                'ordering': ['-id'],
                'indexes': [models.Index(condition=models.Q(('status__in', ('queued', 'failed'))), fields=['channel', 'next_attempt_at', 'id'], name='affected_check_due'), models.Index(fields=['expires_at'], name='affected_check_expiry')],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
