"""The Persian catalogue is complete and compiled; pages really come out in Persian."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

from tests.frontend.helpers import browser

LOCALE = Path(settings.LOCALE_PATHS[0])


def test_every_catalogued_string_has_a_persian_translation():
    po = polib.pofile(str(LOCALE / "fa/LC_MESSAGES/django.po"))
    assert po.percent_translated() == 100, [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries()


def test_compiled_catalogues_exist():
    for language in ("fa", "en"):
        assert (LOCALE / language / "LC_MESSAGES/django.mo").stat().st_size > 0


def test_persian_pages_are_translated(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["engineer"])
    dashboard = client.get("/").content.decode()
    assert "داشبورد" in dashboard and "رخدادهای باز" in dashboard
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "شروع بازیابی" in page and "تعیین دامنه" in page
    assert "Start restoration" not in page


def test_help_texts_built_from_parts_follow_each_request_language(users):
    """Joined lazily: a help text joined at import time stays in the language active then."""
    persian = browser(users["engineer"]).get("/incidents/new/").content.decode()
    assert "مهلت‌های قانونی از این لحظه شمرده می‌شوند. خالی: زمان شناسایی." in persian
    english = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en").get("/incidents/new/")
    assert "the legal deadlines count from here. Empty: the detection time." in (
        english.content.decode()
    )
