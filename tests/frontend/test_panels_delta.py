"""A panels delta (frontend.live.delta_frame) always rebuilds the new HTML exactly, as live.js
rebuilds it, whatever lines repeat (difflib's junk heuristic only changes which parts it
chooses), or is the whole frame."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from frontend.live import delta_frame, panels_frame

# Few distinct lines, so that many repeat, as "</td></tr>" does in the panels; up to 400 of
# them (difflib's junk heuristic applies from 200).
LINE = st.sampled_from(["<tr>", "</td></tr>", "<td>a</td>", "<td>b</td>", "x", ""])
LINES = st.lists(LINE, min_size=1, max_size=400)


def rebuilt(base_html: str, frame: dict) -> str:
    if "html" in frame:
        return frame["html"]
    lines = base_html.split("\n")
    out: list[str] = []
    for part in frame["parts"]:
        out += part.split("\n") if isinstance(part, str) else lines[part[0] : part[1]]
    return "\n".join(out)


@settings(max_examples=300, deadline=None)
@given(old=LINES, new=LINES)
def test_a_delta_rebuilds_the_new_panels_exactly(old, new):
    base_html, html = "\n".join(old), "\n".join(new)
    full = panels_frame(8, html)
    frame = json.loads(delta_frame(8, html, (7, base_html), full))
    assert frame["seq"] == 8
    assert rebuilt(base_html, frame) == html
