"""The seeded runbooks (issue 20): general steps for every incident, and for each attack vector
the steps that vector calls for, in English and Persian. Admins edit them afterwards (the
admin site's runbook steps); this migration only adds what is missing, and never touches a
step an admin has changed."""

from django.db import migrations

SCOPING, RESTORING = "scoping", "restoring"

# (attack vector, phase, required, confirms, English, Persian); "" is every incident.
STEPS = [
    (
        "",
        SCOPING,
        True,
        False,
        "Preserve logs and snapshots before anything is changed",
        "پیش از هر تغییری، لاگ‌ها و اسنپ‌شات‌ها را حفظ کنید",
    ),
    (
        "",
        SCOPING,
        False,
        False,
        "Open an evidence record and log everything collected in it",
        "پروندهٔ شواهد را باز کنید و هر چه گردآوری می‌شود در آن ثبت کنید",
    ),
    (
        "",
        SCOPING,
        False,
        False,
        "Name the commander and the people working the incident",
        "فرمانده و کسانی را که روی رخداد کار می‌کنند تعیین کنید",
    ),
    (
        "",
        RESTORING,
        False,
        False,
        "Watch the monitoring for renewed activity for 24 hours",
        "تا ۲۴ ساعت، پایش را برای نشانه‌های فعالیت دوباره زیر نظر بگیرید",
    ),
    (
        "",
        RESTORING,
        True,
        True,
        "Confirm the fix with a second engineer",
        "از مهندس دومی بخواهید رفع مشکل را تأیید کند",
    ),
    # Phishing
    (
        "phishing",
        SCOPING,
        False,
        False,
        "Find every mailbox that received the message and who clicked its link",
        "همهٔ صندوق‌هایی را که این ایمیل به آن‌ها رسیده "
        "و کسانی را که روی پیوندش کلیک کرده‌اند پیدا کنید",
    ),
    (
        "phishing",
        RESTORING,
        True,
        False,
        "Block the sender's domain and the links in the message",
        "دامنهٔ فرستنده و پیوندهای درون ایمیل را مسدود کنید",
    ),
    (
        "phishing",
        RESTORING,
        True,
        False,
        "Reset the credentials of everyone who entered theirs",
        "گذرواژه و نشست‌های همهٔ کسانی را که اطلاعات ورودشان را وارد کرده‌اند بازنشانی کنید",
    ),
    (
        "phishing",
        RESTORING,
        False,
        False,
        "Remove the message from every mailbox",
        "ایمیل را از همهٔ صندوق‌ها پاک کنید",
    ),
    # Credential stuffing
    (
        "credential_stuffing",
        SCOPING,
        False,
        False,
        "Find the accounts signed in to from the attacking addresses",
        "حساب‌هایی را که از نشانی‌های مهاجم به آن‌ها وارد شده‌اند شناسایی کنید",
    ),
    (
        "credential_stuffing",
        RESTORING,
        True,
        False,
        "Revoke sessions and rotate credentials of the affected accounts",
        "نشست‌های حساب‌های آسیب‌دیده را باطل و اطلاعات ورودشان را عوض کنید",
    ),
    (
        "credential_stuffing",
        RESTORING,
        True,
        False,
        "Force a password reset on the affected accounts",
        "بازنشانی گذرواژه را برای حساب‌های آسیب‌دیده اجباری کنید",
    ),
    (
        "credential_stuffing",
        RESTORING,
        False,
        False,
        "Rate-limit sign-in and block the attacking addresses",
        "برای ورود محدودیت نرخ بگذارید و نشانی‌های مهاجم را مسدود کنید",
    ),
    # Exploited vulnerability
    (
        "vulnerability_exploit",
        SCOPING,
        True,
        False,
        "Identify the vulnerable component and its version",
        "مؤلفهٔ آسیب‌پذیر و نسخهٔ آن را شناسایی کنید",
    ),
    (
        "vulnerability_exploit",
        SCOPING,
        False,
        False,
        "Look for web shells and other footholds the attacker left",
        "دنبال وب‌شل‌ها و دیگر راه‌های نفوذی بگردید که مهاجم به جا گذاشته است",
    ),
    (
        "vulnerability_exploit",
        RESTORING,
        True,
        False,
        "Patch the vulnerable component or take it offline",
        "مؤلفهٔ آسیب‌پذیر را وصله کنید یا از دسترس خارج کنید",
    ),
    (
        "vulnerability_exploit",
        RESTORING,
        False,
        False,
        "Rotate the keys and passwords the compromised service held",
        "کلیدها و گذرواژه‌هایی را که در اختیار سرویس آسیب‌دیده بود عوض کنید",
    ),
    # Misconfiguration
    (
        "misconfiguration",
        SCOPING,
        True,
        False,
        "Find out since when the setting was exposed and who reached it",
        "مشخص کنید این پیکربندی از کی در معرض بوده و چه کسانی به آن دسترسی یافته‌اند",
    ),
    (
        "misconfiguration",
        RESTORING,
        True,
        False,
        "Correct the configuration and close public access",
        "پیکربندی را اصلاح کنید و دسترسی عمومی را ببندید",
    ),
    (
        "misconfiguration",
        RESTORING,
        False,
        False,
        "Add a check that catches this setting before deployment",
        "بررسی‌ای اضافه کنید که این پیکربندی را پیش از استقرار پیدا کند",
    ),
    # Malware
    (
        "malware",
        SCOPING,
        True,
        False,
        "Isolate the infected hosts from the network",
        "میزبان‌های آلوده را از شبکه جدا کنید",
    ),
    (
        "malware",
        SCOPING,
        False,
        False,
        "Collect samples and indicators of compromise",
        "نمونهٔ بدافزار و نشانه‌های نفوذ را گردآوری کنید",
    ),
    (
        "malware",
        RESTORING,
        True,
        False,
        "Rebuild the infected hosts from clean images",
        "میزبان‌های آلوده را از ایمیج‌های سالم از نو بسازید",
    ),
    # Insider
    (
        "insider",
        SCOPING,
        True,
        False,
        "Suspend the person's access while the matter is looked into",
        "تا روشن شدن موضوع، دسترسی‌های آن فرد را تعلیق کنید",
    ),
    (
        "insider",
        SCOPING,
        False,
        False,
        "Involve HR and legal before anyone is questioned",
        "پیش از هر گفت‌وگو با افراد، منابع انسانی و واحد حقوقی را در جریان بگذارید",
    ),
    (
        "insider",
        RESTORING,
        False,
        False,
        "Review and narrow access to the data involved",
        "دسترسی به داده‌های درگیر را بازبینی و محدود کنید",
    ),
    # Third party / service provider
    (
        "third_party",
        SCOPING,
        True,
        False,
        "Ask the provider for its access logs",
        "لاگ‌های دسترسی را از ارائه‌دهندهٔ خدمت درخواست کنید",
    ),
    (
        "third_party",
        SCOPING,
        False,
        False,
        "Check the contract for the provider's duty to tell us",
        "در قرارداد، تعهد ارائه‌دهنده به اطلاع‌رسانی به ما را بررسی کنید",
    ),
    (
        "third_party",
        RESTORING,
        True,
        False,
        "Rotate every key and token the provider held",
        "همهٔ کلیدها و توکن‌هایی را که در اختیار ارائه‌دهنده بود عوض کنید",
    ),
    # Lost or stolen device
    (
        "lost_device",
        SCOPING,
        True,
        False,
        "Check whether the device's disk was encrypted",
        "بررسی کنید دیسک دستگاه رمزگذاری شده بود یا نه",
    ),
    (
        "lost_device",
        SCOPING,
        False,
        False,
        "List the data and accounts the device held",
        "فهرست داده‌ها و حساب‌هایی را که روی دستگاه بود تهیه کنید",
    ),
    (
        "lost_device",
        RESTORING,
        True,
        False,
        "Wipe the device remotely and revoke its sessions",
        "دستگاه را از راه دور پاک کنید و نشست‌های آن را باطل کنید",
    ),
    # Other
    (
        "other",
        SCOPING,
        False,
        False,
        "Write down how the breach happened, as far as it is known",
        "بنویسید رخنه چگونه رخ داده است، تا جایی که می‌دانیم",
    ),
    (
        "other",
        RESTORING,
        False,
        False,
        "Agree the restoration plan with the commander",
        "برنامهٔ بازیابی را با فرمانده هماهنگ کنید",
    ),
    # Undetermined
    (
        "undetermined",
        SCOPING,
        False,
        False,
        "Plan how the source will be found, and by whom",
        "برنامه‌ریزی کنید که منشأ رخنه چگونه و به دست چه کسی پیدا شود",
    ),
    (
        "undetermined",
        SCOPING,
        False,
        False,
        "Widen log collection to every system that could be involved",
        "گردآوری لاگ را به همهٔ سامانه‌هایی که ممکن است درگیر باشند گسترش دهید",
    ),
    (
        "undetermined",
        RESTORING,
        False,
        False,
        "Rotate the credentials of the affected systems as a precaution",
        "از سر احتیاط، اطلاعات ورود سامانه‌های آسیب‌دیده را عوض کنید",
    ),
]


def seed_runbooks(apps, schema_editor):
    step = apps.get_model("incidents", "RunbookStep")
    positions: dict[tuple[str, str], int] = {}
    for vector, phase, required, confirms, title_en, title_fa in STEPS:
        position = positions[(vector, phase)] = positions.get((vector, phase), 0) + 1
        step.objects.get_or_create(
            attack_vector=vector,
            phase=phase,
            title_en=title_en,
            defaults={
                "title_fa": title_fa,
                "position": position,
                "required": required,
                "confirms": confirms,
            },
        )


def remove_runbooks(apps, schema_editor):
    step = apps.get_model("incidents", "RunbookStep")
    for vector, phase, _required, _confirms, title_en, _title_fa in STEPS:
        step.objects.filter(attack_vector=vector, phase=phase, title_en=title_en).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0011_workspace")]

    operations = [migrations.RunPython(seed_runbooks, remove_runbooks)]
