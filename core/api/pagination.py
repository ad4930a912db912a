"""Pagination for every list of the API: numbered pages, keyset pages by id for lists that
grow without bound (the access log, the affected-people register), and keyset pages after a
sequence number (the event feed)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound
from rest_framework.pagination import (
    BasePagination,
    Cursor,
    CursorPagination,
    PageNumberPagination,
)
from rest_framework.request import Request
from rest_framework.response import Response

# The largest id a database integer column holds.
MAX_ID = 2**63 - 1


class CappedPaginator(Paginator):
    """Numbered pages whose count stops at ``cap`` rows past the page asked for: counting
    every row of a long list (each checked for who may read it) is what made its pages slow.
    ``count`` is exact up to ``cap``; beyond, it is the number of rows the count reached
    (``is_capped``: "more than"), always enough to know whether the page asked for and the
    next one exist, so a deep page still has its rows and its next link.

    The cap bounds what one count costs: each row counted is checked for need-to-know, and
    in a text search for the text. At 10,000, an engineer's list and a search for a word in
    thousands of titles cost up to twice as much at 100k incidents as at 1k (bench/README.md,
    "Scale"); at 1,000, a first page's count reads at most 1,001 rows whatever the size."""

    cap = 1_000

    def validate_number(self, number: Any) -> int:
        # The first call (``get_page``/``page``) decides how far the count reaches.
        if "count" not in self.__dict__:
            with contextlib.suppress(TypeError, ValueError):
                self.reach = max(self.cap, int(number) * self.per_page)
        return super().validate_number(number)

    @cached_property
    def count(self) -> int:
        reach = getattr(self, "reach", self.cap)
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)
        if reach is None:  # asked to count every row (the API's ``page=last``)
            return self.object_list.count()
        # Unordered: the number of rows does not depend on their order, and sorting them
        # first would cost what the cap saves. Only the id: the rows' annotations (a list's
        # per-row subqueries) would otherwise run for every row counted.
        return self.object_list.order_by().values("pk")[: reach + 1].count()

    @property
    def is_capped(self) -> bool:
        reach = getattr(self, "reach", self.cap)
        return reach is not None and self.count > reach


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CappedPagination(Pagination):
    """Numbered pages of a list too long to count on every page (the incidents): ``count``
    stops at ``CappedPaginator.cap`` rows past the page asked for."""

    django_paginator_class = CappedPaginator

    def get_page_number(self, request: Request, paginator: CappedPaginator) -> Any:
        # "page=last" must know where the list ends: that one request counts every row.
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            paginator.reach = None
        return super().get_page_number(request, paginator)


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


class AfterKeysetPagination(BasePagination):
    """Keyset pages of a list the view has already narrowed to ``key > after`` and ordered by
    ``key`` (the event feed: ``seq``): one ``LIMIT n+1`` read, no count, so a page costs the
    same however long the list grows. ``next`` repeats the request with ``after`` set to the
    page's last key; ``previous`` is always null (a client goes forward from what it has)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    after_query_param = "after"
    key = "seq"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        size = self.get_page_size(request)
        rows = list(queryset[: size + 1])
        self.page, self.has_next = rows[:size], len(rows) > size
        return self.page

    # ``page_size`` read as the numbered pages read it: a bad or zero size is the default, a
    # large one the maximum.
    get_page_size = PageNumberPagination.get_page_size

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        query = self.request.query_params.copy()
        query[self.after_query_param] = str(getattr(self.page[-1], self.key))
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")

    def get_paginated_response(self, data: list) -> Response:
        return Response({"next": self.get_next_link(), "previous": None, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True},
                "results": schema,
            },
        }
