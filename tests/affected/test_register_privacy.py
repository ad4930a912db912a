"""The register's personal data stays sealed: nothing of it in clear in the database (the SQLite
file's bytes, and every column of every table through SQL), in the event log, in logs, in the
dossier's JSON, or in a Telegram alert; and the register's event kinds have words."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from incidents.affected.register import KINDS
from incidents.labels import EVENT_LABELS
from incidents.models import Event
from tests.affected.register_helpers import csv_bytes, import_csv, listed

# Distinctive values, so a match cannot be a coincidence of the rest of the database.
PEOPLE = [
    ("CUST-7f3a9q", "Zhaleh Qorbanzadeh", "Zh.Qorban@Mailbox-Example.IR", "۰۹۳۵ ۸۷۶ ۱۲۰۹", "fa"),
    ("CUST-8k2w1x", "کیومرث پاکدامن‌نژاد", "kiumars.p@example-shop.ir", "+98 901 443 2217", "fa"),
    ("CUST-9m4e6v", "Yasaman Eskandarpour", "", "0098 990 332 5566", "en"),
]


def spellings() -> list[str]:
    """Every way the people's details could be written down, as typed and as normalised."""
    found = []
    for customer_id, name, email, mobile, _language in PEOPLE:
        found += [customer_id, name, name.split()[0]]
        if email:
            local, domain = email.split("@")
            found += [email, email.lower(), f"{local}@{domain.lower()}", local, local.lower()]
        digits = "".join(c for c in mobile.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))
        national = "".join(c for c in digits if c.isdigit())[-10:]
        found += [mobile, f"+98{national}", f"0{national}", national, f"0098{national}"]
        found.append(national[3:])  # the subscriber's seven digits alone
    return found


def raw_database_bytes() -> bytes:
    """The SQLite test database's files as they are on disk (the write-ahead log included)."""
    path = Path(settings.DATABASES["default"]["NAME"])
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def every_stored_value() -> str:
    """Every column of every row of every table, through SQL, as text."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            out += [repr(row) for row in cursor.fetchall()]
    return "\n".join(out)


@pytest.mark.django_db(transaction=True)
def test_the_database_holds_no_contact_data_in_clear(api, incident_in):
    """Through SQL on any database; and, on SQLite, in the very bytes of its files."""
    incident = incident_in("scoping")
    assert import_csv(api, incident.reference, csv_bytes(PEOPLE)).status_code == 200
    assert (
        api("legal")
        .post(
            f"/api/incidents/{incident.reference}/affected-people/",
            {"customer_id": "CUST-1q9z0p", "name": "Bahador Gholamipour", "email": "bgp@x-mail.ir"},
            format="json",
        )
        .status_code
        == 201
    )
    # The control: the register does hold them, readable with the key.
    assert {p["customer_id"] for p in listed(api, incident.reference)} >= {"CUST-7f3a9q"}
    values = spellings() + ["CUST-1q9z0p", "Bahador Gholamipour", "bgp@x-mail.ir", "Gholamipour"]
    stored = every_stored_value()
    assert [v for v in values if v in stored] == []
    if connection.vendor == "sqlite":
        connection.close()  # its last writes reach the files
        raw = raw_database_bytes()
        leaked = [v for v in values if v.encode("utf-8") in raw or v.encode("utf-16-le") in raw]
        assert leaked == []


@pytest.mark.django_db
def test_events_and_logs_carry_counts_only(api, incident_in, caplog):
    caplog.set_level(logging.DEBUG)
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    import_csv(api, incident.reference, csv_bytes([(*PEOPLE[0][:2], "not-an-email", "", "")]))
    person = listed(api, incident.reference)[0]
    api("legal").delete(f"/api/incidents/{incident.reference}/affected-people/{person['id']}/")
    events = Event.objects.filter(incident=incident, kind__startswith="register.")
    assert [(e.kind, e.data) for e in events] == [
        ("register.imported", {"imported": 3, "skipped": 0}),
        ("register.removed", {"removed": 1}),
    ]
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert [v for v in spellings() if v in logged] == []
    assert "register import into" in caplog.text  # the control: the import did log


@pytest.mark.django_db
def test_the_dossier_json_and_the_timeline_say_what_happened_without_who(
    api, incident_in, settings
):
    settings.LANGUAGE_CODE = "en"
    settings.EVIDENCE_EXECUTIVE_DOWNLOAD = True
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    listed(api, incident.reference)  # a read: the access log is in the dossier too
    response = api("legal").get(f"/api/incidents/{incident.reference}/dossier.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    exported = archive.read("incident.json").decode()
    assert "register.imported" in exported and "register.read" in exported
    assert [v for v in spellings() if v in exported or json.dumps(v) in exported] == []
    timeline = api("executive").get(f"/api/incidents/{incident.reference}/timeline/").content
    assert b"register.imported" in timeline
    assert [v for v in spellings() if v.encode() in timeline] == []


def test_every_register_event_kind_has_words() -> None:
    assert set(KINDS) <= set(EVENT_LABELS)


@pytest.mark.django_db
def test_the_timeline_page_shows_the_import_in_words(api, incident_in, users):
    from tests.frontend.helpers import browser

    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "<strong>Affected people imported</strong>" in page


@pytest.mark.django_db
def test_register_changes_alert_nobody_on_telegram(api, incident_in, users):
    from notifier.models import Delivery
    from notifier.outbox import derive_deliveries
    from notifier.subscriptions import follow
    from tests.notifier.conftest import link

    for chat, role in enumerate(("engineer", "legal", "executive", "admin"), start=1001):
        link(users[role], chat)
    incident = incident_in("scoping", severity="critical")
    follow(users["legal"], incident)
    derive_deliveries()  # the incident's own alerts so far
    before = Delivery.objects.count()
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    person = listed(api, incident.reference)[0]
    api("admin").delete(f"/api/incidents/{incident.reference}/affected-people/{person['id']}/")
    assert Event.objects.filter(kind__startswith="register.").count() == 2
    derive_deliveries()
    assert Delivery.objects.count() == before


@pytest.mark.django_db
def test_the_django_admin_lists_the_register_without_anyones_details(api, incident_in, users):
    from incidents.models import AffectedPerson
    from tests.frontend.helpers import browser

    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    client = browser(users["admin"], HTTP_ACCEPT_LANGUAGE="en")
    person = AffectedPerson.objects.first()
    pages = [
        client.get("/admin/incidents/affectedperson/"),
        client.get(f"/admin/incidents/affectedperson/{person.pk}/change/"),
    ]
    assert [page.status_code for page in pages] == [200, 200]
    html = "".join(page.content.decode() for page in pages)
    assert incident.reference in html  # the control: the rows are listed
    assert [v for v in spellings() if v in html] == []
    assert person.sealed[:40] not in html and person.customer_hash not in html
    assert client.get(f"/admin/incidents/affectedperson/{person.pk}/delete/").status_code == 403
