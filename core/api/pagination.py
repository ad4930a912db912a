"""Pagination for every list of the API: numbered pages, and keyset pages by id for lists that
grow without bound (the access log, the affected-people register)."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

# The largest id a database integer column holds.
MAX_ID = 2**63 - 1


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class IdKeysetPagination(CursorPagination):
    """Keyset pages ordered by id (``ordering``: "id" or "-id"): a page costs the same however
    long the list grows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF checks the cursor's shape but not its position, which becomes an id filter: a
        # forged "p=abc" (or an id past any integer column) was a 500. Like any bad cursor: 404.
        cursor = super().decode_cursor(request)
        position = None if cursor is None else cursor.position
        if position is not None and not (position.isascii() and position.isdigit()):
            raise NotFound(self.invalid_cursor_message)
        if position is not None and int(position) > MAX_ID:
            raise NotFound(self.invalid_cursor_message)
        return cursor
