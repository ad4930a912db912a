"""Outbound webhooks (issue 22 §3): registration (the API's and the admin's are in
test_webhooks_api.py and test_webhooks_admin.py), which events each hook gets, a body without
personal data, and a signature the docs' snippets verify. The transport's answers are in
test_webhook_transport.py; the same flows through the worker in
test_outbound_webhooks_worker.py."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from incidents.affected.register import add_person
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.models import Event
from incidents.need_to_know import change_restriction
from notifier.models import OutboundWebhook
from notifier.webhooks import (
    InvalidWebhook,
    active_webhooks,
    body_for,
    hook_secret,
    register_webhook,
    signature,
)
from tests.notifier.webhook_helpers import (
    critical_incident,
    docs_block,
    docs_verify,
    outgoing,
    rows_for,
)
from tests.notifier.webhook_receiver import WebhookReceiver

TITLE = "Leak found by sara.karimi@example.com, call 0912 345 6789"
SUMMARY = "Customer Reza Ahmadi (national id 0012345678) reported it"


# --- registration ----------------------------------------------------------------------------


def test_registering_keeps_the_secret_sealed_and_returns_it_once(db, users):
    hook, secret = register_webhook(
        name="SIEM",
        url="https://siem.example.com/hooks",
        kinds=["created", "escalated"],
        min_severity="high",
        created_by=users["admin"],
    )
    hook.refresh_from_db()
    assert len(secret) >= 40
    assert secret not in hook.secret_sealed
    assert hook_secret(hook) == secret
    assert hook.kinds == ["created", "escalated"] and hook.min_severity == "high"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com/x",
        "not a url",
        "https://",
        "https://user:pw@example.com/hook",
        "http://[::1",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\x00",
    ],
)
def test_registering_refuses_what_is_not_a_plain_http_url(db, url):
    with pytest.raises(InvalidWebhook):
        register_webhook(name="x", url=url)
    assert not OutboundWebhook.objects.exists()


def test_registering_refuses_unknown_kinds_and_severities(db):
    with pytest.raises(InvalidWebhook, match="no-such-kind"):
        register_webhook(name="x", url="https://a.example.com/", kinds=["created", "no-such-kind"])
    with pytest.raises(InvalidWebhook):
        register_webhook(name="x", url="https://a.example.com/", min_severity="apocalyptic")
    assert not OutboundWebhook.objects.exists()


def test_add_webhook_prints_its_secret_once_and_that_secret_signs(db):
    out = io.StringIO()
    call_command(
        "add_webhook",
        "https://siem.example.com/in",
        "--kinds",
        "created, escalated",
        "--min-severity",
        "high",
        stdout=out,
    )
    [hook] = OutboundWebhook.objects.all()
    secret = re.search(r"secret .*: (\S+)$", out.getvalue().strip()).group(1)
    assert hook_secret(hook) == secret
    assert hook.kinds == ["created", "escalated"] and hook.min_severity == "high"
    with translation.override("en"), pytest.raises(CommandError, match="Unknown event kinds"):
        call_command("add_webhook", "https://siem.example.com/in", "--kinds", "creatd")


# --- which events, and what a body says --------------------------------------------------------


def test_hooks_get_only_the_kinds_and_severities_they_asked_for(db, users):
    every, _ = register_webhook(name="every", url="https://a.example.com/")
    created_only, _ = register_webhook(
        name="created", url="https://b.example.com/", kinds=["created"]
    )
    critical_only, _ = register_webhook(
        name="critical", url="https://c.example.com/", min_severity="critical"
    )
    low, _ = create_incident(
        actor=users["engineer"], data={"title": "Port scan", "severity": "low"}
    )
    low, scoping = apply_transition(low, "start_scoping", actor=users["engineer"])
    critical = critical_incident(users)

    rows = rows_for(list(Event.objects.order_by("seq")))

    got = {(row.webhook.name, row.incident.reference, row.kind) for row in rows}
    assert got == {
        ("every", low.reference, "created"),
        ("every", low.reference, "start_scoping"),
        ("every", critical.reference, "created"),
        ("created", low.reference, "created"),
        ("created", critical.reference, "created"),
        ("critical", critical.reference, "created"),
    }
    assert {row.key for row in rows if row.kind == "start_scoping"} == {
        f"event:{scoping.seq}:webhook:{every.pk}"
    }


def test_an_inactive_hook_gets_no_rows(db, users):
    hook, _ = register_webhook(name="off", url="https://a.example.com/")
    hook.active = False
    hook.save()
    critical_incident(users)
    assert rows_for(list(Event.objects.all()), [hook]) == []
    assert active_webhooks() == []


def test_a_body_names_the_event_and_the_incident_by_reference_and_states(db, users, hook_settings):
    incident = critical_incident(users)
    incident, event = apply_transition(incident, "start_scoping", actor=users["engineer"])
    body = json.loads(body_for(event))
    assert body == {
        "id": event.seq,
        "kind": "start_scoping",
        "at": body["at"],
        "incident": {
            "reference": incident.reference,
            "severity": "critical",
            "state": "scoping",
            "restricted": False,
            "url": f"https://desk.example.com/incidents/{incident.reference}/",
        },
        "from_state": "detected",
        "to_state": "scoping",
        "actor": "engineer",
    }
    assert body["at"].endswith("Z") and body["at"].startswith(str(event.created_at.year))


def test_no_body_carries_customers_personal_data(db, users, hook_settings):
    register_webhook(name="every", url="https://a.example.com/")
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": TITLE, "severity": "high", "summary": SUMMARY}
    )
    update_incident(
        incident,
        actor=users["engineer"],
        changes={"title": "Again: reza.ahmadi@example.org", "severity": "critical"},
    )
    add_person(
        incident,
        {"customer_id": "C-77", "name": "Reza Ahmadi", "email": "reza@example.net"},
        actor=users["legal"],
    )
    rows = rows_for(list(Event.objects.order_by("seq")))

    assert {row.kind for row in rows} == {"created", "updated", "register.added"}
    texts = "\n".join(row.text for row in rows)
    for secret in ("sara", "karimi", "0912", "6789", "Reza", "Ahmadi", "0012345678", "C-77", "@"):
        assert secret not in texts
    [edit] = [json.loads(row.text) for row in rows if row.kind == "updated"]
    assert edit["changed"] == ["severity", "title"] and edit["from_severity"] == "high"


def test_a_restricted_incident_is_heard_of_once_by_its_reference_and_then_not(db, users):
    register_webhook(name="every", url="https://a.example.com/")
    incident = critical_incident(users)
    incident, _ = change_restriction(
        incident, actor=users["legal"], restricted=True, members=["engineer"]
    )
    apply_transition(incident, "start_scoping", actor=users["engineer"])
    rows = rows_for(list(Event.objects.filter(kind__in=["restriction.on", "start_scoping"])))

    [row] = rows
    assert json.loads(row.text)["incident"] == {"reference": incident.reference, "restricted": True}
    assert set(json.loads(row.text)) == {"id", "kind", "at", "incident"}


# --- the signature ---------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_the_raw_body():
    # hmac.new(b"whsec", b'1700000000.{"id":1}', sha256).hexdigest(), computed once by openssl:
    # printf '1700000000.{"id":1}' | openssl dgst -sha256 -hmac whsec
    value = signature("whsec", 1700000000, '{"id":1}')
    assert value.startswith("t=1700000000,v1=")
    assert value == "t=1700000000,v1=" + _openssl_hmac("whsec", '1700000000.{"id":1}')


def _openssl_hmac(key: str, message: str) -> str:
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key, "-r"],
        input=message.encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout.split()[0].decode()


def sent_once(db_users: dict[str, Any], receiver: WebhookReceiver, transport: Any) -> tuple:
    hook, secret = register_webhook(name="r", url=receiver.url)
    critical_incident(db_users)
    [row] = rows_for(list(Event.objects.all()))
    transport.send(outgoing(row))
    [seen] = receiver.wait_for(1)
    return hook, secret, row, seen


def test_a_delivery_verifies_with_the_docs_python_snippet(db, users, receiver, transport):
    _, secret, row, seen = sent_once(users, receiver, transport)
    verify = docs_verify()

    assert seen.body == row.text.encode("utf-8")
    assert seen.headers["content-type"] == "application/json"
    assert seen.delivery == str(row.pk)
    assert seen.headers["user-agent"].startswith("BreachDesk-Webhooks/")
    assert verify(secret, seen.signature, seen.body)
    assert not verify(secret, seen.signature, seen.body.replace(b"critical", b"low"))
    assert not verify("another-secret", seen.signature, seen.body)
    old = signature(secret, int(time.time()) - 3600, row.text)
    assert not verify(secret, old, seen.body)


def test_a_delivery_verifies_with_the_docs_openssl_snippet(
    db, users, receiver, transport, tmp_path
):
    _, secret, _, seen = sent_once(users, receiver, transport)
    (tmp_path / "body.json").write_bytes(seen.body)

    def check(signature_value: str) -> str:
        done = subprocess.run(
            ["bash", "-c", docs_block("sh")],
            cwd=tmp_path,
            env={"SECRET": secret, "SIGNATURE": signature_value, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    assert check(seen.signature) == "valid"
    assert check(seen.signature[:-4] + "0000") == ""
