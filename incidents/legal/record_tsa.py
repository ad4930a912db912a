"""Time-stamping the record's checkpoints by an RFC 3161 authority (``RECORD_TSA_URL``), with
Trail of Bits' ``rfc3161-client``: the authority signs the SHA-256 of a checkpoint's signed
bytes and the time, so the checkpoint provably existed then, whoever holds our key later.

The request goes over the network, so it is never made inside a transaction or under the log
head's lock: ``sign_checkpoint`` asks after its commit, and ``stamp_pending`` (``manage.py
verify_record --stamp``, or the notifier worker's loop) catches up with the scheduled
checkpoints made inside appends and with any stamp that failed. The authority's whole DER
answer (TimeStampResp) is kept in ``RecordCheckpoint.tsa_token``: ``openssl ts -reply -in
FILE -text`` reads it, ``openssl ts -verify -data ... -in FILE -CAfile ...`` checks it."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from django.conf import settings
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from incidents.legal.signed_form import signed_bytes
from incidents.models import RecordCheckpoint

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/timestamp-query"
LARGEST_ANSWER = 64 * 1024


class StampFailed(Exception):
    """The authority did not answer with a token over this checkpoint."""


@functools.lru_cache(maxsize=4)
def _roots(path: str) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))


def check_response(
    response: TimeStampResponse, checkpoint: RecordCheckpoint, nonce: int | None = None
) -> None:
    """VerificationError unless the answer is a granted token, signed by a certificate that
    chains to ``RECORD_TSA_CA_FILE``, over this checkpoint's signed bytes."""
    builder = VerifierBuilder()
    for root in _roots(settings.RECORD_TSA_CA_FILE):
        builder = builder.add_root_certificate(root)
    if nonce is not None:
        builder = builder.nonce(nonce)
    builder.build().verify_message(response, signed_bytes(checkpoint))


def request_token(checkpoint: RecordCheckpoint) -> TimeStampResponse:
    """Ask the authority and check its answer (StampFailed with the reason otherwise)."""
    query = (
        TimestampRequestBuilder()
        .data(signed_bytes(checkpoint))
        .hash_algorithm(HashAlgorithm.SHA256)
        .build()
    )
    http = urllib.request.Request(
        settings.RECORD_TSA_URL,
        data=query.as_bytes(),
        headers={"Content-Type": CONTENT_TYPE, "Accept": "application/timestamp-reply"},
    )
    try:
        with urllib.request.urlopen(http, timeout=settings.RECORD_TSA_TIMEOUT_SECONDS) as answer:
            raw = answer.read(LARGEST_ANSWER + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise StampFailed(f"the time-stamping authority did not answer: {exc}") from None
    if len(raw) > LARGEST_ANSWER:
        raise StampFailed("the time-stamping authority's answer is too large")
    try:
        response = decode_timestamp_response(raw)
        check_response(response, checkpoint, query.nonce)
    except (ValueError, VerificationError) as exc:
        raise StampFailed(f"the time-stamping authority's answer does not hold: {exc}") from None
    return response


def stamp(checkpoint: RecordCheckpoint) -> bool:
    """Time-stamp one checkpoint and keep the answer; False (logged) when it failed, so the
    caller (an export, a transition's append) never fails because the authority is away."""
    try:
        response = request_token(checkpoint)
    except StampFailed as exc:
        logger.warning("record checkpoint #%s not time-stamped: %s", checkpoint.seq, exc)
        return False
    checkpoint.tsa_token = response.as_bytes()
    checkpoint.tsa_time = response.tst_info.gen_time.astimezone(dt.UTC)
    RecordCheckpoint.objects.filter(pk=checkpoint.pk, tsa_token__isnull=True).update(
        tsa_token=checkpoint.tsa_token, tsa_time=checkpoint.tsa_time
    )
    return True


def stamp_pending(limit: int = 100) -> int:
    """Time-stamp the checkpoints still without a token, oldest first; how many got one.
    Call outside any transaction."""
    if not settings.RECORD_TSA_URL:
        return 0
    done = 0
    for checkpoint in RecordCheckpoint.objects.unstamped().order_by("id")[:limit]:
        if not stamp(checkpoint):
            break  # the authority is away: try again at the next round
        done += 1
    return done


def token_problem(checkpoint: RecordCheckpoint) -> str | None:
    """Why a kept time-stamp does not hold for the checkpoint (None when it does, or when no
    CA file is configured to check it against)."""
    if checkpoint.tsa_token is None or not settings.RECORD_TSA_CA_FILE:
        return None
    try:
        response = decode_timestamp_response(bytes(checkpoint.tsa_token))
        check_response(response, checkpoint)
    except (ValueError, VerificationError) as exc:
        return f"the time-stamp of signed checkpoint #{checkpoint.seq} does not hold ({exc})"
    return None
