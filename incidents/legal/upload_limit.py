"""ASGI guard for request bodies, in front of Django.

Django's ASGI handler reads a whole body into a spooled file before any view or upload handler
runs, so the evidence limit checked while parsing (incidents.legal.evidence.HashingUploadHandler)
would come only after a huge upload had filled the disk. This refuses a body announced larger
than the largest allowed evidence upload before reading it (413), and cuts one that streams past
it. (daphne has already received the whole body by then; only a proxy in front can refuse
earlier: docs/legal.md.)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from incidents.legal.evidence import MULTIPART_OVERHEAD, EvidenceTooLarge

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def body_limit() -> int:
    return settings.EVIDENCE_MAX_BYTES + MULTIPART_OVERHEAD


class BodyLimit:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP request (core/asgi.py mounts this on the "http" protocol only)."""
        limit = body_limit()
        headers = dict(scope.get("headers") or [])
        announced = headers.get(b"content-length")
        if announced is not None:
            if not announced.strip().isdigit():
                await _refuse(send, 400, headers)
                return
            if int(announced) > limit:
                await _refuse(send, 413, headers)
                return
        received, refused = 0, False

        async def limited() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not refused:
                        refused = True
                        await _refuse(send, 413, headers)
                    # Django treats this as the client going away: no view runs, nothing kept.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, guarded_send)


def _language(accept_language: bytes) -> str:
    """The language Django would pick from this Accept-Language header (else LANGUAGE_CODE)."""
    request = HttpRequest()
    request.META["HTTP_ACCEPT_LANGUAGE"] = accept_language.decode("latin-1")
    return translation.get_language_from_request(request)


async def _refuse(send: Send, status: int, headers: dict[bytes, bytes]) -> None:
    """413 as the evidence upload answers it (``detail``, ``max_bytes``), or 400 for a
    Content-Length that is not a number; in the client's language, since Django's
    LocaleMiddleware has not run yet."""
    with translation.override(_language(headers.get(b"accept-language", b""))):
        if status == 413:
            answer = EvidenceTooLarge(settings.EVIDENCE_MAX_BYTES).body()
        else:
            answer = {"detail": _("Content-Length must be a number.")}
    body = json.dumps(answer, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
