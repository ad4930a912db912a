"""Outbound webhooks over the API (admins only): register with the secret in that answer only,
edit, rotate, delete, and read a hook's deliveries and dead letters; bad input a clear 4xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from incidents.lifecycle import create_incident
from incidents.models import Event
from notifier.models import Delivery, OutboundWebhook
from notifier.transports.webhook import WebhookTransport
from notifier.webhooks import active_webhooks, hook_secret, register_webhook, webhook_deliveries
from tests.notifier.webhook_helpers import docs_verify, outgoing

URL = "https://siem.example.com/hooks/breach-desk"


def test_an_admin_registers_a_webhook_and_sees_its_secret_only_then(api):
    answer = api("admin").post(
        "/api/webhooks/",
        {"name": "SIEM", "url": URL, "kinds": ["created", "escalated"], "min_severity": "high"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    hook = OutboundWebhook.objects.get(pk=body["id"])
    assert body["secret"] == hook_secret(hook)
    assert body["kinds"] == ["created", "escalated"] and body["created_by"] == "admin"

    listed = api("admin").get("/api/webhooks/").json()
    one = api("admin").get(f"/api/webhooks/{hook.pk}/").json()
    assert [h["id"] for h in listed] == [hook.pk]
    assert "secret" not in listed[0] and "secret" not in one
    assert body["secret"] not in str(listed) + str(one)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"url": "ftp://files.example.com/"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": URL, "kinds": ["created", "nonsense"]}, "kinds"),
        ({"url": URL, "kinds": "created"}, "kinds"),
        ({"url": URL, "min_severity": "apocalyptic"}, "min_severity"),
        ({"url": URL, "secret": "chosen-by-me"}, "secret"),
        ({}, "url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, given, field):
    answer = api("admin").post("/api/webhooks/", given, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.content
    assert not OutboundWebhook.objects.exists()


@pytest.mark.parametrize("role", ["engineer", "legal", "executive", "norole"])
def test_only_admins_manage_webhooks(api, role):
    hook, _ = register_webhook(name="SIEM", url=URL)
    client = api(role)
    assert client.get("/api/webhooks/").status_code == 403
    assert client.post("/api/webhooks/", {"url": URL}, format="json").status_code == 403
    assert client.patch(f"/api/webhooks/{hook.pk}/", {"active": False}).status_code == 403
    assert client.post(f"/api/webhooks/{hook.pk}/secret/").status_code == 403
    assert client.get(f"/api/webhooks/{hook.pk}/deliveries/").status_code == 403
    assert client.delete(f"/api/webhooks/{hook.pk}/").status_code == 403
    assert OutboundWebhook.objects.get(pk=hook.pk).active


def test_an_admin_edits_and_switches_a_webhook_off(api):
    hook, secret = register_webhook(name="SIEM", url=URL)
    answer = api("admin").patch(
        f"/api/webhooks/{hook.pk}/",
        {"kinds": ["close"], "min_severity": "critical", "active": False},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    hook.refresh_from_db()
    assert (hook.kinds, hook.min_severity, hook.active) == (["close"], "critical", False)
    assert hook_secret(hook) == secret
    assert active_webhooks() == []
    refused = api("admin").patch(f"/api/webhooks/{hook.pk}/", {"url": "gopher://x"}, format="json")
    assert refused.status_code == 400 and "url" in refused.json()


def test_rotating_gives_a_new_secret_and_the_old_one_no_longer_signs(api):
    hook, old = register_webhook(name="SIEM", url=URL)
    answer = api("admin").post(f"/api/webhooks/{hook.pk}/secret/")
    assert answer.status_code == 200
    new = answer.json()["secret"]
    hook.refresh_from_db()
    assert new != old and hook_secret(hook) == new
    assert old not in answer.content.decode()


def test_a_hooks_deliveries_and_its_dead_letters(api, users):
    hook, _ = register_webhook(name="SIEM", url=URL)
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "Leak", "severity": "critical"}
    )
    rows = [r for e in Event.objects.all() for r in webhook_deliveries(e, [hook])]
    Delivery.objects.bulk_create(rows)
    Delivery.objects.filter(webhook=hook).update(status=Delivery.DEAD, last_error="answered 404")

    every = api("admin").get(f"/api/webhooks/{hook.pk}/deliveries/").json()
    dead = api("admin").get(f"/api/webhooks/{hook.pk}/deliveries/?status=dead").json()
    sent = api("admin").get(f"/api/webhooks/{hook.pk}/deliveries/?status=sent").json()
    [row] = every["results"]
    assert row["incident"] == incident.reference and row["kind"] == "created"
    assert row["last_error"] == "answered 404" and dead["results"] == every["results"]
    assert sent["results"] == []
    bad = api("admin").get(f"/api/webhooks/{hook.pk}/deliveries/?status=lost")
    assert bad.status_code == 400 and "status" in bad.json()


@pytest.mark.parametrize("pk", ["999", str(2**70)])
def test_a_missing_webhook_is_a_404(api, pk):
    client: Any = api("admin")
    assert client.get(f"/api/webhooks/{pk}/").status_code == 404
    assert client.post(f"/api/webhooks/{pk}/secret/").status_code == 404
    assert client.get(f"/api/webhooks/{pk}/deliveries/").status_code == 404
    assert client.delete(f"/api/webhooks/{pk}/").status_code == 404


def test_deleting_a_webhook_takes_its_deliveries_with_it(api, users):
    hook, _ = register_webhook(name="SIEM", url=URL)
    create_incident(actor=users["engineer"], data={"title": "Leak", "severity": "critical"})
    Delivery.objects.bulk_create(
        [r for e in Event.objects.all() for r in webhook_deliveries(e, [hook])]
    )
    assert api("admin").delete(f"/api/webhooks/{hook.pk}/").status_code == 204
    assert not OutboundWebhook.objects.exists()
    assert not Delivery.objects.filter(channel="webhook").exists()


def test_the_webhooks_api_is_in_the_openapi_schema(api):
    schema = api("admin").get("/api/schema/").content
    for path in (
        b"/api/webhooks/:",
        b"/api/webhooks/{id}/:",
        b"/api/webhooks/{id}/secret/:",
        b"/api/webhooks/{id}/deliveries/:",
    ):
        assert path in schema, path


def test_a_ping_is_a_signed_test_delivery_without_an_incident(api, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook, secret = register_webhook(name="receiver", url=receiver.url)
    answer = api("admin").post(f"/api/webhooks/{hook.pk}/ping/")
    assert answer.status_code == 202
    row = Delivery.objects.get(pk=answer.json()["delivery"])
    assert (row.channel, row.kind, row.webhook_id, row.event_id) == (
        "webhook",
        "ping",
        hook.pk,
        None,
    )

    sender = WebhookTransport()
    try:
        sender.send(outgoing(row))
    finally:
        sender.close()
    [seen] = receiver.wait_for(1)
    body = json.loads(seen.body)
    assert body == {"kind": "ping", "at": body["at"], "webhook": hook.pk}
    assert docs_verify()(secret, seen.signature, seen.body)


def test_a_switched_off_webhook_is_not_pinged(api):
    hook, _ = register_webhook(name="SIEM", url=URL)
    OutboundWebhook.objects.filter(pk=hook.pk).update(active=False)
    assert api("admin").post(f"/api/webhooks/{hook.pk}/ping/").status_code == 409
    assert api("engineer").post(f"/api/webhooks/{hook.pk}/ping/").status_code == 403
    assert not Delivery.objects.exists()
