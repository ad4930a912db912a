"""A small RFC 3161 time-stamping authority on loopback for the tests: it reads a request with
rfc3161-client (the library the app uses), builds the answer's ASN.1 with asn1crypto and signs
it with a certificate made here with cryptography (a root, and a TSA certificate under it with
the critical id-kp-timeStamping usage that RFC 3161 asks for)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rfc3161_client._rust import parse_timestamp_request

POLICY = "1.3.6.1.4.1.99999.1"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: rsa.RSAPrivateKey, issuer: str, signer: rsa.RSAPrivateKey, *, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING])
        builder = builder.add_extension(eku, critical=True)
    return builder.add_extension(usage, critical=True).sign(signer, hashes.SHA256())


@dataclass
class LoopbackAuthority:
    folder: Path
    serials: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    answered: int = 0
    refuse: bool = False

    def __post_init__(self) -> None:
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = _certificate("Test Root", self.root_key, "Test Root", self.root_key, ca=True)
        self.cert = _certificate("Test TSA", self.key, "Test Root", self.root_key, ca=False)
        self.ca_file = self.folder / "tsa-root.pem"
        self.ca_file.write_bytes(self.root.public_bytes(serialization.Encoding.PEM))

    def answer(self, raw_request: bytes) -> bytes:
        request = parse_timestamp_request(raw_request)
        imprint = request.message_imprint
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": POLICY,
                "message_imprint": {
                    "hash_algorithm": {"algorithm": imprint.hash_algorithm.dotted_string},
                    "hashed_message": imprint.message,
                },
                "serial_number": next(self.serials),
                "gen_time": dt.datetime.now(dt.UTC).replace(microsecond=0),
                "nonce": request.nonce,
            }
        )
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": self._token(info)}
        ).dump()

    def _token(self, info: tsp.TSTInfo) -> cms.ContentInfo:
        content = info.dump()
        certificate = asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))
        signed_attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {
                            "certs": [
                                {
                                    "hash_algorithm": {"algorithm": "sha256"},
                                    "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                                }
                            ]
                        }
                    ],
                },
            ]
        )
        signature = self.key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value={
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    },
                ),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": [certificate],
                "signer_infos": [signer],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})


@contextmanager
def running_authority(folder: Path) -> Iterator[tuple[str, LoopbackAuthority]]:
    """(url, authority): an HTTP time-stamping authority on 127.0.0.1 for the block."""
    authority = LoopbackAuthority(folder)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if authority.refuse:
                self.send_error(503)
                return
            answer = authority.answer(body)
            authority.answered += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", authority
    finally:
        server.shutdown()
        server.server_close()
