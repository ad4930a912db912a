# Telegram's chat links become one table for every bot channel (issue 22): the renames first,
# so the rows are kept; the new columns and constraints follow in 0003.

from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifier", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("TelegramLink", "ChatLink"),
        migrations.RenameField("chatlink", "telegram_user_id", "account_id"),
        migrations.RenameField("chatlink", "telegram_username", "username"),
        migrations.RenameField("linkaudit", "telegram_user_id", "account_id"),
    ]
