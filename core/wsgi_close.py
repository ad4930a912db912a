"""Closing each WSGI response, which asgiref's ``WsgiToAsgi`` does not do.

PEP 3333 asks the server to call the response's ``close()`` once it is sent. Django does its
end-of-request work there: the ``request_finished`` signal (old database connections closed,
uploaded files' temporary copies closed and deleted) and closing a ``FileResponse``'s file.
asgiref 3.13's ``WsgiToAsgi`` iterates the response and never calls ``close()``, so without this
each evidence upload left its temporary file open on disk and each download its file handle,
until the garbage collector came by (issue 17). tests/core/test_wsgi_close.py fails when
asgiref starts closing responses itself (then this module can go) or when this stops working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def closing_responses(app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            # Runs when the body is sent, and also when the server stops early (enough bytes
            # for Content-Length): it drops the generator, which CPython closes at once.
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return application
