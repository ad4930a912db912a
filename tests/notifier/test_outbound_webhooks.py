"""Outbound webhooks (issue 22 §3): registration, which events each hook gets, a body without
personal data, the signature the docs' snippets verify, and the transport against a real
receiver on loopback (500, a hang, 410, a redirect, a private address).

The transport is driven here with outbox rows turned into ``Outgoing``-shaped values; the same
flows through the worker are in test_outbound_webhooks_worker.py."""

from __future__ import annotations

import io
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from incidents.affected.register import add_person
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.models import Event
from incidents.need_to_know import change_restriction
from notifier import outbox
from notifier.models import WEBHOOK, Delivery, OutboundWebhook
from notifier.transports.errors import TransportError
from notifier.transports.webhook import WebhookTransport, is_public, resolve
from notifier.webhooks import (
    InvalidWebhook,
    active_webhooks,
    body_for,
    hook_secret,
    register_webhook,
    signature,
    webhook_deliveries,
)
from tests.notifier.webhook_receiver import WebhookReceiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
TITLE = "Leak found by sara.karimi@example.com, call 0912 345 6789"
TLS_NAME = "hooks.breach-desk.test"
SUMMARY = "Customer Reza Ahmadi (national id 0012345678) reported it"


@dataclass(frozen=True)
class _Outgoing:
    """The worker's claimed row as COMMON.md's interface names it, for a branch where
    notifier.outbox.Outgoing does not have these fields yet."""

    id: int
    channel: str
    claim_token: str
    attempts: int
    chat_id: int | None
    user_id: int | None
    webhook_id: int | None
    subject: str
    text: str
    reply_markup: dict | None


def outgoing(row: Delivery) -> Any:
    kind = outbox.Outgoing
    if "webhook_id" not in {f.name for f in fields(kind)}:
        kind = _Outgoing
    values = {
        "id": row.pk,
        "channel": row.channel,
        "claim_token": "test",
        "attempts": row.attempts,
        "chat_id": row.chat_id,
        "user_id": row.user_id,
        "webhook_id": row.webhook_id,
        "subject": row.subject,
        "text": row.text,
        "reply_markup": row.reply_markup,
    }
    return kind(**{f.name: values[f.name] for f in fields(kind)})


def docs_block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/webhooks.md has no {language} block"
    return found[-1]


def docs_verify() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("python"), str(DOCS), "exec"), namespace)
    return namespace["verify"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    fake = WebhookReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def hook_settings(settings: Any) -> Any:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    return settings


@pytest.fixture
def transport(hook_settings: Any) -> Iterator[WebhookTransport]:
    sender = WebhookTransport()
    yield sender
    sender.close()


def rows_for(events: list[Event], hooks: list[OutboundWebhook] | None = None) -> list[Delivery]:
    """What the outbox does in its transaction: the hooks' rows for these events, saved."""
    hooks = active_webhooks() if hooks is None else hooks
    rows = [row for event in events for row in webhook_deliveries(event, hooks)]
    Delivery.objects.bulk_create(rows)
    return list(Delivery.objects.filter(channel=WEBHOOK).order_by("id"))


def critical_incident(users: dict[str, Any], title: str = "Database dump on a forum") -> Any:
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": title, "severity": "critical"}
    )
    return incident


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
    with pytest.raises(CommandError, match="Unknown event kinds"):
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


# --- the transport's answers ---------------------------------------------------------------


def one_row(users: dict[str, Any], url: str) -> Delivery:
    register_webhook(name="r", url=url)
    critical_incident(users)
    [row] = rows_for(list(Event.objects.all()))
    return row


def test_a_500_is_temporary_and_the_retry_is_signed_afresh(db, users, receiver, transport):
    row = one_row(users, receiver.url)
    receiver.answer(500)

    with pytest.raises(TransportError) as failed:
        transport.send(outgoing(row))
    assert not failed.value.permanent
    assert "500" in failed.value.message and "receiver says no" in failed.value.message
    transport.send(outgoing(row))

    first, second = receiver.wait_for(2)
    assert [first.status, second.status] == [500, 200]
    assert first.body == second.body and first.delivery == second.delivery == str(row.pk)
    assert docs_verify()(hook_secret(row.webhook), second.signature, second.body)


def test_a_hanging_receiver_times_out_as_a_temporary_failure(db, users, receiver, hook_settings):
    hook_settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    row = one_row(users, receiver.url)
    receiver.answer(("hang", 30))
    sender = WebhookTransport()
    try:
        with pytest.raises(TransportError) as failed:
            sender.send(outgoing(row))
        assert not failed.value.permanent and "no answer in 0.3 s" in failed.value.message
        sender.send(outgoing(row))
    finally:
        sender.close()
    assert [r.status for r in receiver.wait_for(2)] == [0, 200]


@pytest.mark.parametrize(
    ("answer", "permanent", "retry_after"),
    [((429, 7), False, 7.0), ((503, 2), False, 2.0), (408, False, None), (400, True, None)],
)
def test_answers_that_say_try_later_are_temporary_and_others_permanent(
    db, users, receiver, transport, answer, permanent, retry_after
):
    row = one_row(users, receiver.url)
    receiver.answer(answer)
    with pytest.raises(TransportError) as failed:
        transport.send(outgoing(row))
    assert failed.value.permanent is permanent
    assert failed.value.retry_after == retry_after


def test_410_is_permanent_and_switches_the_hook_off(db, users, receiver, transport):
    row = one_row(users, receiver.url)
    receiver.answer(410)
    with pytest.raises(TransportError) as failed:
        transport.send(outgoing(row))
    assert failed.value.permanent
    assert not OutboundWebhook.objects.get(pk=row.webhook_id).active
    with pytest.raises(TransportError, match="deactivated") as again:
        transport.send(outgoing(row))
    assert again.value.permanent
    assert len(receiver.wait_for(1)) == 1


def test_a_redirect_is_not_followed(db, users, receiver, transport):
    elsewhere = WebhookReceiver().start()
    try:
        row = one_row(users, receiver.url)
        receiver.answer(("redirect", elsewhere.url))
        with pytest.raises(TransportError, match="302") as failed:
            transport.send(outgoing(row))
        assert failed.value.permanent
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_without_webhook_allow_private(
    db, users, receiver, hook_settings, host
):
    hook_settings.WEBHOOK_ALLOW_PRIVATE = False
    row = one_row(users, receiver.url.replace("127.0.0.1", host))
    sender = WebhookTransport()
    try:
        with pytest.raises(TransportError, match="non-public address") as failed:
            sender.send(outgoing(row))
    finally:
        sender.close()
    assert failed.value.permanent
    assert receiver.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.251",
        "0.0.0.0",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "ff02::1",
    ],
)
def test_addresses_inside_or_special_are_not_public(address):
    [parsed] = resolve(address, 443)
    assert not is_public(parsed)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"])
def test_internet_addresses_are_public(address):
    [parsed] = resolve(address, 443)
    assert is_public(parsed)


def test_the_request_goes_to_the_address_that_was_resolved_once(db, users, receiver, hook_settings):
    """A name is resolved once per attempt and the connection made to that address, with the
    name kept in Host: a DNS answer that changes after the check cannot move the request."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[Any]:
        asked.append(host)
        return resolve("127.0.0.1", port)

    row = one_row(users, f"http://hooks.breach-desk.test:{port}/in?token=receiver-token")
    sender = WebhookTransport(resolver=resolver)
    try:
        sender.send(outgoing(row))
    finally:
        sender.close()
    [seen] = receiver.wait_for(1)
    assert asked == ["hooks.breach-desk.test"]
    assert seen.headers["host"] == f"hooks.breach-desk.test:{port}"
    assert seen.path == "/in?token=receiver-token"


def test_an_error_holds_neither_the_secret_nor_the_urls_query(db, users, receiver, transport):
    row = one_row(users, receiver.url + "?token=receiver-token")
    receiver.answer(500)
    with pytest.raises(TransportError) as failed:
        transport.send(outgoing(row))
    assert hook_secret(row.webhook) not in failed.value.message
    assert "receiver-token" not in failed.value.message


def test_a_deleted_hooks_waiting_row_fails_for_good(db, users, receiver, transport):
    row = one_row(users, receiver.url)
    shown = outgoing(row)
    OutboundWebhook.objects.all().delete()
    with pytest.raises(TransportError) as failed:
        transport.send(shown)
    assert failed.value.permanent and receiver.requests == []


# --- the admin -------------------------------------------------------------------------------


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


def test_a_send_on_a_sending_thread_leaves_no_database_session_open(
    transactional_db, users, receiver, transport
):
    """The worker may send from a thread of its own: the hook's read must not leave that
    thread holding a database session nobody closes."""
    from django.db import connection

    row = one_row(users, receiver.url)
    after: list[Any] = []

    def send() -> None:
        transport.send(outgoing(row))
        after.append(connection.connection)

    thread = threading.Thread(target=send)
    thread.start()
    thread.join(timeout=10)
    assert after == [None]
    assert len(receiver.wait_for(1)) == 1


@pytest.mark.parametrize(("certified", "reached"), [(TLS_NAME, True), ("other.test", False)])
def test_https_to_a_pinned_address_checks_the_certificate_against_the_name(
    db, users, hook_settings, certified, reached
):
    """The connection goes to the resolved address, but TLS sends and checks the URL's name:
    a certificate for that name (and no address) is accepted, one for another name refused."""
    tls = WebhookReceiver(tls_name=certified).start()
    try:
        row = one_row(users, f"https://{TLS_NAME}:{tls.port}/in")
        sender = WebhookTransport(
            resolver=lambda host, port: resolve("127.0.0.1", port), verify=tls.trust()
        )
        try:
            if reached:
                sender.send(outgoing(row))
            else:
                with pytest.raises(TransportError, match="not reached") as failed:
                    sender.send(outgoing(row))
                assert not failed.value.permanent
        finally:
            sender.close()
        assert [r.headers["host"] for r in tls.wait_for(1, 1 if not reached else 5)] == (
            [f"{TLS_NAME}:{tls.port}"] if reached else []
        )
    finally:
        tls.stop()


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
