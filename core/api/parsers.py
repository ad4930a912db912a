"""The API's JSON parser: DRF's, refusing two more kinds of body up front with a 400.

- Nesting deep enough to exhaust Python's stack (``[[[[...]]]]``, a few KB): the decoder raises
  RecursionError, which DRF does not catch.
- Lone surrogates (``"\\ud800"``): valid JSON escapes, but no UTF-8 text can hold them, so the
  error answer that echoes them, a database write or a Telegram message would fail later.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from None
        ensure_utf8(data)
        return data


def ensure_utf8(data: Any) -> None:
    """ParseError if any key or string in ``data`` holds a lone surrogate."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(
            _(
                "JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), "
                "which is not text."
            )
        ) from None
