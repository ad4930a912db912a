# Notice campaigns (issue 18 part 3): the SMS text and the advice a campaign carries, when it was
# cancelled, when each notice was last tried (the sending rate counts it), the index the worker
# claims by, and the seeded notice templates.

from django.db import migrations, models


def seed_templates(apps, schema_editor):
    """The letter, SMS and advice templates in Persian and English, from the seed files beside
    the app's templates (incidents/templates/incidents/notices/). Only missing ones are created:
    a migration runs once, and admins' edits stay."""
    from incidents.affected.notice_templates import seed_notice_templates

    seed_notice_templates(apps.get_model("incidents", "NoticeTemplate"))


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_affected_people"),
    ]

    operations = [
        migrations.AddField(
            model_name="notice",
            name="attempted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="noticecampaign",
            name="advice",
            field=models.JSONField(default=dict, verbose_name="advice"),
        ),
        migrations.AddField(
            model_name="noticecampaign",
            name="cancelled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="noticecampaign",
            name="sms",
            field=models.JSONField(default=dict, verbose_name="SMS text"),
        ),
        migrations.AddIndex(
            model_name="notice",
            index=models.Index(
                fields=["channel", "attempted_at"], name="incidents_n_channel_a1c203_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="notice",
            index=models.Index(
                condition=models.Q(("status__in", ("queued", "failed"))),
                fields=["channel", "next_attempt_at", "id"],
                name="notice_due",
            ),
        ),
        migrations.RunPython(seed_templates, migrations.RunPython.noop),
    ]
