"""Outbound webhooks on the wire (issue 22 §3): everything that speaks HTTP to a registered URL.

One POST per attempt: the row's text as the body (``Content-Type: application/json``), signed
afresh (``X-BreachDesk-Signature``, a new timestamp each attempt, so a receiver may refuse old
ones), with the delivery's id (``X-BreachDesk-Delivery``) for the receiver to drop a repeat.
Answers become TransportErrors (STYLE.md rule 9): 2xx is sent; 408, 429 and 5xx, timeouts and
network errors are temporary (``Retry-After`` honoured); a redirect is a failure, never followed
(a registered URL must not lead elsewhere); 410 Gone deactivates the hook; every other 4xx is
permanent. The hook is read at each send, so a deactivated hook or a rotated secret counts at
once.

Server-side request forgery: the host is resolved once per attempt and, unless
``WEBHOOK_ALLOW_PRIVATE``, refused for good when any of its addresses is loopback, private,
link-local, multicast, reserved or unspecified. The request then goes to the address that was
checked (the URL's host kept in ``Host`` and in TLS's SNI and certificate check), so a DNS answer
that changes between the check and the connection (rebinding) cannot point it elsewhere.
Proxies from the environment are not used: they would connect on our behalf, unchecked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.pii import Unreadable
from notifier.models import WEBHOOK, OutboundWebhook
from notifier.transports.errors import TransportError
from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, hook_secret, signature

if TYPE_CHECKING:
    from notifier.outbox import Outgoing

log = logging.getLogger(__name__)
USER_AGENT = "BreachDesk-Webhooks/1"
ANSWER_BYTES = 300  # of a refusal's body, kept in the delivery's last error
TEMPORARY_4XX = frozenset({408, 429})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (an IP literal: itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def is_public(address: IPAddress) -> bool:
    """Whether a webhook may connect to ``address`` without WEBHOOK_ALLOW_PRIVATE."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class WebhookTransport:
    channel = WEBHOOK

    def __init__(
        self,
        *,
        timeout: float | None = None,
        allow_private: bool | None = None,
        resolver: Resolver = resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: the certificates trusted (default: the ``certifi`` bundle httpx uses;
        environment variables are not read)."""
        self.timeout = settings.WEBHOOK_TIMEOUT_SECONDS if timeout is None else timeout
        self.allow_private = (
            settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
        )
        self.resolver = resolver
        # No kept-alive connections: a connection is made to an address checked for this
        # request, and one opened for a host must not carry another host's request.
        self.client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT},
            verify=verify,
        )

    def send(self, out: Outgoing) -> None:
        """POST the row's body to its hook, or raise TransportError."""
        hook = current_hook(out.webhook_id)
        if hook is None or not hook.active:
            raise TransportError("webhook deactivated or removed", permanent=True)
        try:
            secret = hook_secret(hook)
        except Unreadable:
            # A key an operator fixes (PII_ENCRYPTION_KEY_FALLBACKS), not a broken hook.
            raise TransportError("the webhook's secret cannot be unsealed") from None
        try:
            url = httpx.URL(hook.url)
            target, extensions = self._pinned(url)
        except (httpx.InvalidURL, UnicodeError):  # registered before the checks of today
            raise TransportError("the webhook's URL cannot be used", permanent=True) from None
        body = out.text.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Host": url.netloc.decode("ascii"),
            SIGNATURE_HEADER: signature(secret, int(time.time()), out.text),
            DELIVERY_HEADER: str(out.id),
        }
        try:
            with self.client.stream(
                "POST", target, content=body, headers=headers, extensions=extensions
            ) as response:
                answer = _first_bytes(response)
        except httpx.TimeoutException as exc:
            raise TransportError(f"{type(exc).__name__}: no answer in {self.timeout:g} s") from None
        except httpx.HTTPError as exc:  # refused, reset or dropped connections, bad TLS
            raise TransportError(f"{type(exc).__name__}: {url_of(hook)} not reached") from None
        self._judge(hook, response, answer)

    def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str]]:
        """The URL with its host replaced by a checked address, and the TLS name to use."""
        host = url.raw_host.decode("ascii")  # IDNA-encoded: what DNS and SNI take
        try:
            addresses = self.resolver(host, url.port or (443 if url.scheme == "https" else 80))
        except (OSError, UnicodeError) as exc:  # a resolver down is temporary
            raise TransportError(f"{host} not resolved: {exc}") from None
        if not addresses:
            raise TransportError(f"{host} not resolved")
        if not self.allow_private:
            refused = [str(a) for a in addresses if not is_public(a)]
            if refused:
                raise TransportError(
                    f"refused: {host} resolves to a non-public address ({', '.join(refused)}); "
                    "set WEBHOOK_ALLOW_PRIVATE to allow it",
                    permanent=True,
                )
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return url.copy_with(host=str(addresses[0])), extensions

    def _judge(self, hook: OutboundWebhook, response: httpx.Response, answer: str) -> None:
        code = response.status_code
        if 200 <= code < 300:
            return
        said = f"{url_of(hook)} answered {code}: {answer}".strip()
        if 300 <= code < 400:
            raise TransportError(f"{said} (redirects are not followed)", permanent=True)
        if code == 410:
            gone(hook)
            raise TransportError(f"{said} (the hook is deactivated)", permanent=True)
        if code in TEMPORARY_4XX or code >= 500:
            raise TransportError(said, retry_after=retry_after(response))
        raise TransportError(said, permanent=400 <= code < 500)

    def close(self) -> None:
        self.client.close()


def current_hook(pk: int | None) -> OutboundWebhook | None:
    """The hook as it is now (deactivated, deleted, its secret rotated)."""
    with own_connection():
        return OutboundWebhook.objects.filter(pk=pk).first()


@contextlib.contextmanager
def own_connection() -> Iterator[None]:
    """On a sending thread, the database connection a read or write opened is closed after
    it: nothing else on that thread would ever close it, and each thread left holding one
    keeps a database session open. The main thread's stays, as Django manages it."""
    try:
        yield
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def url_of(hook: OutboundWebhook) -> str:
    """The hook's URL without its query (which may hold a receiver's token) for errors."""
    url = httpx.URL(hook.url)
    return str(url.copy_with(query=None, fragment=None))


def gone(hook: OutboundWebhook) -> None:
    """410 Gone: the receiver asks us to stop; an admin may switch the hook on again."""
    with own_connection():
        OutboundWebhook.objects.filter(pk=hook.pk, active=True).update(active=False)
    log.warning("webhook %s (%s) answered 410 Gone: deactivated", hook.pk, url_of(hook))


def _first_bytes(response: httpx.Response) -> str:
    """The start of the answer's body (a refusal's reason), never the whole of a large one."""
    if 200 <= response.status_code < 300:
        return ""
    taken = b""
    for chunk in response.iter_raw():
        taken += chunk
        if len(taken) >= ANSWER_BYTES:
            break
    return " ".join(taken[:ANSWER_BYTES].decode("utf-8", "replace").split())


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, from seconds or an HTTP date; None when absent or bad."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": a date said in UTC
        when = when.replace(tzinfo=dt.UTC)
    return max((when - timezone.now()).total_seconds(), 0.0)
