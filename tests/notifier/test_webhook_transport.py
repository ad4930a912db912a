"""WebhookTransport against a real receiver on loopback (issue 22 §3): a 500 and a hang are
temporary, 410 switches the hook off, a redirect is not followed, private addresses are refused
without WEBHOOK_ALLOW_PRIVATE, the request goes to the address that was checked (over https
too, the certificate checked against the name), errors hold no secret. Driven with outbox rows
turned into ``Outgoing``-shaped values."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from notifier.models import OutboundWebhook
from notifier.transports.errors import TransportError
from notifier.transports.webhook import WebhookTransport, is_public, resolve
from notifier.webhooks import hook_secret
from tests.notifier.webhook_helpers import docs_verify, one_row, outgoing
from tests.notifier.webhook_receiver import WebhookReceiver

TLS_NAME = "hooks.breach-desk.test"


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
