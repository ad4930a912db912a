"""Long runs of punctuation, spaces or symbols in a Persian line, made safe for fpdf2's bidi.

Used by incidents/dossier.py for every shaped (Persian) line of the PDF.
"""

from __future__ import annotations

import unicodedata

from fpdf.bidi import auto_detect_base_direction
from fpdf.enums import TextDirection

# fpdf2 (2.8) resolves a shaped paragraph's bidi classes recursively: next_strong and
# previous_strong (rules N0-N2) and next_is_en (W5) call themselves once per character of a run
# of characters that are not strong (punctuation, spaces, symbols, emoji, combining marks, ZWNJ),
# so a thousand dashes exceed Python's recursion limit, and every run costs time quadratic in its
# length. An invisible mark of the direction the run resolves to, every NEUTRAL_RUN_LIMIT
# characters, keeps each run short without moving any of it: the neutrals either side of the mark
# still find strong neighbours that agree or disagree as before (N1, N2). Only such long runs get
# marks; there, a bracket pair around the run may still turn the other way (N0 counts the mark).
NEUTRAL_RUN_LIMIT = 64
# The direction each strong class counts as in N1 / N2 (an EN after an L counts as L: rule W7).
STRONG = {"L": "L", "R": "R", "AL": "R", "AN": "R", "EN": "R"}
MARKS = {"L": "\u200e", "R": "\u200f", "AL": "\u061c"}  # LRM, RLM, ALM (the font has all three)
OPENERS = {"LRE": "L", "LRO": "L", "LRI": "L", "RLE": "R", "RLO": "R", "RLI": "R", "FSI": ""}
ISOLATES = ("LRI", "RLI", "FSI")
NOT_OVERRIDDEN = ("B", "BN", "RLE", "LRE", "RLO", "LRO", "PDF", "FSI", "PDI")  # rule X6
# With at most this many explicit embedding / isolate controls, nesting stays within fpdf2's 125
# levels (past them it folds isolates into their surroundings, which _groups does not model),
# and each FSI's scan of the rest of the paragraph stays cheap.
MAX_EXPLICIT = 60

Char = tuple[int, str, int]  # (index in the text, bidi class after overrides, embedding level)


def direction_of(text: str, *, stop_at_pdi: bool = False) -> str:
    """The direction of the text's first strong letter, as fpdf2 would guess it (rule P2)."""
    found = auto_detect_base_direction(text, stop_at_pdi=stop_at_pdi)
    return "R" if found == TextDirection.RTL else "L"


def _side(level: int) -> str:
    return "R" if level % 2 else "L"


def shapeable(text: str) -> bool:
    """Whether fpdf2's bidi can take the text once its neutral runs are bounded."""
    explicit = (*OPENERS, "PDF", "PDI")
    return sum(unicodedata.bidirectional(c) in explicit for c in text) <= MAX_EXPLICIT


def _groups(text: str, base: int) -> list[list[Char]]:
    """The characters with the levels fpdf2 gives them (rules X1-X8), grouped as it joins them:
    an isolate's content apart, the text around it running on across the isolate.
    Precondition: shapeable(text)."""
    groups: list[list[Char]] = [[]]
    open_groups = [0]
    frames = [(base, True, "")]  # (level, is an isolate, override); the paragraph counts as one
    for index, char in enumerate(text):
        kind = unicodedata.bidirectional(char)
        if kind == "PDI" and len(open_groups) > 1:
            open_groups.pop()
            while not frames.pop()[1]:
                pass
        outer = frames[-1]
        if kind in OPENERS:
            direction = OPENERS[kind] or direction_of(text[index + 1 :], stop_at_pdi=True)
            level = (outer[0] + 1) | 1 if direction == "R" else (outer[0] + 2) & ~1
            frames.append((level, kind in ISOLATES, direction if kind[2] == "O" else ""))
        elif kind == "PDF" and not frames[-1][1]:
            frames.pop()
        level = base if kind == "B" else outer[0] if kind in ISOLATES else frames[-1][0]
        overridden = outer[2] and kind not in NOT_OVERRIDDEN
        groups[open_groups[-1]].append((index, outer[2] if overridden else kind, level))
        if kind in ISOLATES:
            open_groups.append(len(groups))
            groups.append([])
    return groups


def _cuts(run: list[Char]) -> list[int]:
    """Where to put marks in a run of neutrals: at most NEUTRAL_RUN_LIMIT apart, never before a
    PDI (the mark would land inside the isolate that PDI closes; a run has no NEUTRAL_RUN_LIMIT
    of them in a row, MAX_EXPLICIT being lower), and preferably not inside a cluster (before a
    combining mark or a joiner, or right after a joiner)."""
    cuts, start = [], 0
    while len(run) - start > NEUTRAL_RUN_LIMIT:
        window = range(start + NEUTRAL_RUN_LIMIT, start, -1)
        allowed = [at for at in window if run[at][1] != "PDI"]
        tidy = [
            at
            for at in allowed[: NEUTRAL_RUN_LIMIT // 2]
            if run[at][1] not in ("NSM", "BN") and run[at - 1][1] != "BN"
        ]
        start = (tidy or allowed)[0]
        cuts.append(run[start][0])
    return cuts


def _marks(sos: str, chars: list[Char], eos: str) -> dict[int, str]:
    """The marks one isolating run sequence needs, by the index of the character each precedes."""
    marks: dict[int, str] = {}
    before = last_lra = sos  # the last strong direction; the last L / R / AL (rules W2, W7)
    run: list[Char] = []
    for char in [*chars, (-1, "", 0)]:
        index, kind, _ = char
        if index >= 0 and kind not in STRONG:
            run.append(char)
            continue
        after = eos if index < 0 else "L" if kind == "EN" and last_lra == "L" else STRONG[kind]
        if len(run) > NEUTRAL_RUN_LIMIT:
            resolved = before if before == after else _side(run[0][2])
            mark = MARKS["AL" if resolved == "R" and last_lra == "AL" else resolved]
            marks.update(dict.fromkeys(_cuts(run), mark))
        run, before = [], after
        if kind in ("L", "R", "AL"):
            last_lra = kind
    return marks


def bound_neutral_runs(text: str, base: str) -> str:
    """The text with an invisible directional mark in every run of more than NEUTRAL_RUN_LIMIT
    non-strong characters; unchanged (every ordinary line) when it has no such run. Render it
    with `base` (the text's own direction_of) as the paragraph direction: a mark may come before
    the first strong letter, and must not change it. Precondition: shapeable(text)."""
    marks: dict[int, str] = {}
    # filter: an isolate opened by the last character has no content.
    for group in filter(None, _groups(text, 1 if base == "R" else 0)):
        levels = [level for _, _, level in group]
        # A level change ends one run sequence; either side takes the higher level's direction.
        starts = [0, *(at for at in range(1, len(group)) if levels[at] != levels[at - 1])]
        for start, end in zip(starts, [*starts[1:], len(group)], strict=True):
            sos = _side(max(levels[start], levels[start - 1] if start else 0))
            eos = _side(max(levels[end - 1], levels[end] if end < len(group) else 0))
            marks.update(_marks(sos, group[start:end], eos))
    if not marks:
        return text
    return "".join(marks.get(index, "") + char for index, char in enumerate(text))
