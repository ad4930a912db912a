"""The one scrubber for everything staff wrote that reaches a chat: titles, reminders' steps,
actors, button answers (DESIGN.md: a message never carries customers' personal data).

People paste what they find, in whatever spelling: ``0912 345 67 89``, ``0912.345.6789``,
``۰۹۱۲‌۳۴۵۶۷۸۹``, ``001.234567.8``, an IBAN with dots, a card number with a zero-width space inside.
So matching never looks at the text as written but at a view of it (issue 17):

- Unicode NFKC (full-width and other compatibility forms become plain ones);
- every format character (Unicode category Cf: zero-width spaces and joiners, marks of
  direction, the byte-order mark) left out;
- every decimal digit of any script read as its ASCII digit;
- any run of separators between two digits (spaces of every kind, dots, commas, hyphens and
  dashes, slashes, underscores, parentheses, plus signs) read as nothing.

In that view, a run of ten or more digits is personal data whatever it is: a mobile (``09...``,
``+98...``, ``0098...``, a bare ``9...``), a national id, a card, an IBAN's digits, an account.
Emails are matched on the view too. Each match is replaced in the text as written, from its
first character to its last, so nothing of it is left to reassemble; the words around it stay.
"""

from __future__ import annotations

import re
import unicodedata

REDACTED = "[…]"
LONGEST_SAFE_RUN = 9

_SEPARATORS = frozenset(".,·٫٬،-_/\\()[]+")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A date (Jalali 13xx/14xx or Gregorian 19xx/20xx) followed by a clock time: "1403/05/12 10:30"
# is a moment, not a 10-digit number; the time's hour is not joined to it.
_DATE_THEN_TIME = re.compile(
    r"(?:1[34]|19|20)\d\d([/.\-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?=\s+\d{1,2}:)"
)


def _is_separator(char: str) -> bool:
    return char in _SEPARATORS or char.isspace() or unicodedata.category(char) in {"Pd", "Zs"}


def _view(text: str) -> tuple[str, list[int]]:
    """The text as matched (format characters out, digits in ASCII) and, for each of its
    characters, where it stands in ``text``."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cf":
            continue
        if char.isdecimal():
            char = str(unicodedata.decimal(char))
        chars.append(char)
        where.append(index)
    return "".join(chars), where


def _digit_runs(view: str) -> list[tuple[int, int]]:
    """(start, end) in ``view`` of each run of digits joined by separator runs."""
    runs: list[tuple[int, int]] = []
    i, size = 0, len(view)
    while i < size:
        if not view[i].isdigit():
            i += 1
            continue
        start = end = i
        j = i
        while j < size:
            if view[j].isdigit():
                end = j = j + 1
                date = _DATE_THEN_TIME.match(view, start)
                if date and date.end() == end:
                    break
                continue
            k = j
            while k < size and _is_separator(view[k]):
                k += 1
            if k == j or k == size or not view[k].isdigit():
                break
            j = k
        runs.append((start, end))
        i = max(end, i + 1)
    return runs


def _findings(view: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _EMAIL.finditer(view)]
    for start, end in _digit_runs(view):
        if sum(c.isdigit() for c in view[start:end]) > LONGEST_SAFE_RUN:
            # An IBAN's country letters go with its digits.
            before = view[:start].rstrip("".join(_SEPARATORS) + " ")
            if before[-2:].upper() == "IR":
                start = len(before) - 2
            while start and view[start - 1] in "+(":
                start -= 1
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def scrub(text: str) -> str:
    """``text`` with every email and every long number, in any spelling, replaced by a marker."""
    text = unicodedata.normalize("NFKC", text)
    view, where = _view(text)
    out: list[str] = []
    last = 0
    for start, end in _findings(view):
        out.append(text[last : where[start]])
        out.append(REDACTED)
        last = where[end - 1] + 1
    out.append(text[last:])
    return "".join(out)
