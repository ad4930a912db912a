"""Outbound webhooks in the admin: adding one shows its secret once, a URL that is not http
refused, the secret rotated, a test delivery queued, a hook's deliveries and dead letters."""

from __future__ import annotations

from typing import Any

import pytest

from notifier.models import Delivery, OutboundWebhook
from notifier.webhooks import hook_secret, register_webhook
from tests.notifier.webhook_helpers import one_row


@pytest.fixture
def admin_client(client: Any, users: dict[str, Any]) -> Any:
    client.force_login(users["admin"])
    return client


def test_the_admin_adds_a_hook_and_shows_its_secret_once(admin_client):
    answer = admin_client.post(
        "/admin/notifier/outboundwebhook/add/",
        {
            "name": "SIEM",
            "url": "https://siem.example.com/in",
            "kinds": ["created", "escalated"],
            "min_severity": "high",
            "active": "on",
        },
        follow=True,
    )
    [hook] = OutboundWebhook.objects.all()
    secret = hook_secret(hook)
    assert secret in answer.content.decode()
    assert hook.kinds == ["created", "escalated"] and hook.created_by.username == "admin"
    page = admin_client.get(f"/admin/notifier/outboundwebhook/{hook.pk}/change/")
    assert page.status_code == 200 and secret not in page.content.decode()


def test_the_admin_refuses_a_url_that_is_not_http(admin_client):
    answer = admin_client.post(
        "/admin/notifier/outboundwebhook/add/",
        {"name": "x", "url": "ftp://files.example.com/", "min_severity": "low"},
    )
    assert answer.status_code == 200 and not OutboundWebhook.objects.exists()


def test_rotating_a_secret_shows_the_new_one_once(admin_client):
    hook, old = register_webhook(name="SIEM", url="https://siem.example.com/in")
    answer = admin_client.post(
        "/admin/notifier/outboundwebhook/",
        {"action": "rotate", "_selected_action": [hook.pk]},
        follow=True,
    )
    hook.refresh_from_db()
    new = hook_secret(hook)
    assert new != old and new in answer.content.decode()


def test_a_hooks_page_lists_its_deliveries_and_links_to_its_dead_letters(
    admin_client, users, receiver, hook_settings
):
    row = one_row(users, receiver.url)
    Delivery.objects.filter(pk=row.pk).update(status=Delivery.DEAD, last_error="answered 404")
    page = admin_client.get(f"/admin/notifier/outboundwebhook/{row.webhook_id}/change/")
    text = page.content.decode()
    assert "answered 404" in text
    dead = f"?webhook__id__exact={row.webhook_id}&amp;status__exact=dead"
    assert dead in text
    listed = admin_client.get("/admin/notifier/delivery/" + dead.replace("&amp;", "&"))
    assert listed.status_code == 200 and f">{row.pk}<" in listed.content.decode()


def test_the_admins_ping_action_queues_a_test_delivery_for_active_hooks(admin_client):
    on, _ = register_webhook(name="on", url="https://a.example.com/")
    off, _ = register_webhook(name="off", url="https://b.example.com/")
    OutboundWebhook.objects.filter(pk=off.pk).update(active=False)
    answer = admin_client.post(
        "/admin/notifier/outboundwebhook/",
        {"action": "ping", "_selected_action": [on.pk, off.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    assert list(Delivery.objects.values_list("kind", "webhook_id")) == [("ping", on.pk)]
