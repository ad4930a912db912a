"""A webhook receiver on 127.0.0.1 (http.server in a thread of its own) for the outbound
webhooks' tests: it records every request and answers from a script, one answer per request:
``200``, ``500``, ``410``, ``(429, retry_after)``, ``("hang", seconds)`` (answers 200 that
late, or never if the test ends first) or ``("redirect", location)`` (302). With the script
empty it answers 200.

``WebhookReceiver(tls_name="hooks.example.test")`` speaks HTTPS with a self-signed
certificate for that name only (no address in it): ``trust()`` is an SSL context that
trusts it.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifier.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the receiver answered (0: it hung and never did)

    @property
    def signature(self) -> str:
        return self.headers.get(SIGNATURE_HEADER.lower(), "")

    @property
    def delivery(self) -> str:
        return self.headers.get(DELIVERY_HEADER.lower(), "")


def self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for DNS name ``name`` alone, and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class WebhookReceiver:
    requests: list[Received] = field(default_factory=list)
    tls_name: str = ""

    def __post_init__(self) -> None:
        self.script: deque[Any] = deque()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        if self.tls_name:
            return f"https://{self.tls_name}:{self.port}/hooks/breach-desk"
        return f"http://127.0.0.1:{self.port}/hooks/breach-desk"

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))

    def answer(self, *answers: Any) -> None:
        with self.lock:
            self.script.extend(answers)

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [r.body for r in self.requests]

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with receiver.lock:
                    receiver.requests.append(seen)
                    planned = receiver.script.popleft() if receiver.script else 200
                receiver._respond(self, seen, planned)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls_name:
            self.folder = tempfile.TemporaryDirectory()
            self.cert_file, key_file = self_signed(self.tls_name, Path(self.folder.name))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert_file, key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def _respond(self, handler: BaseHTTPRequestHandler, seen: Received, planned: Any) -> None:
        headers: dict[str, str] = {}
        if isinstance(planned, tuple) and planned[0] == "hang":
            if self.stopping.wait(planned[1]):
                return  # the test is over: never answer
            status = 200
        elif isinstance(planned, tuple) and planned[0] == "redirect":
            status, headers = 302, {"Location": planned[1]}
        elif isinstance(planned, tuple):
            status, headers = planned[0], {"Retry-After": str(planned[1])}
        else:
            status = int(planned)
        seen.status = status
        body = b'{"ok": true}' if status < 300 else b"receiver says no"
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def wait_for(self, count: int, seconds: float = 5.0) -> list[Received]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        return list(self.requests)

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.tls_name:
            self.folder.cleanup()
