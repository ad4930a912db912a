"""Server-rendered SVG: geometry computed here, drawn by templates (which escape every label)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from incidents.choices import State
from incidents.labels import TRANSITION_LABELS
from incidents.lifecycle import INCIDENT

BAR_WIDTH, GAP, CHART_HEIGHT = 60, 20, 160


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    value: float
    key: str


def bars(items: list[tuple[str, str, float]], *, rtl: bool = False) -> dict[str, Any]:
    """items: (key, label, value) -> bar geometry scaled to the largest value; right to left
    (the first item on the right) for a right-to-left page."""
    top = max([v for _, _, v in items] + [1])
    width = GAP + len(items) * (BAR_WIDTH + GAP)
    out = []
    for i, (key, label, value) in enumerate(items):
        h = round((CHART_HEIGHT - 20) * value / top)
        x = GAP + i * (BAR_WIDTH + GAP)
        x = width - x - BAR_WIDTH if rtl else x
        out.append(Bar(x, CHART_HEIGHT - h + 10, BAR_WIDTH, h, label, value, key))
    return {
        "bars": out,
        "width": width,
        "height": CHART_HEIGHT + 40,
        "base": CHART_HEIGHT + 10,
        "mid": BAR_WIDTH // 2,
    }


# Columns leave room for a transition's label between two boxes (~100 px at the chart's font).
NODE_W, NODE_H, COL_W, ROW_H = 110, 34, 215, 80
SPLIT = 14  # opposite vertical edges (dismiss down, reopen up) run side by side, not on one line


def _layers() -> dict[str, tuple[int, int]]:
    """Column = shortest distance from ``detected`` along the transitions; row = order within."""
    edges = defaultdict(list)
    for t in INCIDENT.transitions():
        edges[t.source].append(t.target)
    column = {State.DETECTED.value: 0}
    queue = [State.DETECTED.value]
    while queue:
        state = queue.pop(0)
        for target in edges[state]:
            if target not in column:
                column[target] = column[state] + 1
                queue.append(target)
    rows: dict[int, int] = defaultdict(int)
    place = {}
    for state in [s.value for s in State]:  # declaration order keeps the main path on row 0
        col = column.get(state, 0)
        place[state] = (col, rows[col])
        rows[col] += 1
    return place


def lifecycle(current: str | None = None, *, rtl: bool = False) -> dict[str, Any]:
    """Nodes and edges of the incident state machine, generated from the model's transitions;
    flowing right to left for a right-to-left page (detection on the right, where it reads
    first and where a narrow screen's scroll starts)."""
    place = _layers()
    nodes = {}
    for state in State:
        col, row = place[state.value]
        nodes[state.value] = {
            "key": state.value,
            "label": state.label,
            "current": state.value == current,
            "x": 10 + col * COL_W,
            "y": 10 + row * ROW_H,
            "cx": 10 + col * COL_W + NODE_W // 2,
            "cy": 10 + row * ROW_H + NODE_H // 2,
        }
    edges = []
    for t in INCIDENT.transitions():
        a, b = nodes[t.source], nodes[t.target]
        edges.append(_edge(a, b, t.name))
    width = 20 + max(n["x"] for n in nodes.values()) + NODE_W
    height = 30 + max(n["y"] for n in nodes.values()) + NODE_H + ROW_H // 2
    if rtl:
        _mirror(nodes.values(), edges, width)
    return {
        "nodes": list(nodes.values()),
        "edges": edges,
        "width": width,
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def _edge(a: dict[str, Any], b: dict[str, Any], name: str) -> dict[str, Any]:
    forward = b["x"] > a["x"]
    anchor = "middle"
    if forward:
        x1, y1 = a["x"] + NODE_W, a["cy"]
        x2, y2 = b["x"], b["cy"]
        path = f"M{x1},{y1} L{x2 - 2},{y2}"
        lx, ly = (x1 + x2) // 2, (y1 + y2) // 2 - 6
    elif a["x"] == b["x"]:
        down = b["y"] > a["y"]
        x = a["cx"] - SPLIT if down else a["cx"] + SPLIT
        y1, y2 = (a["y"] + NODE_H, b["y"]) if down else (a["y"], b["y"] + NODE_H)
        path = f"M{x},{y1} L{x},{y2 - 2 if down else y2 + 2}"
        lx, ly = (x - 6, (y1 + y2) // 2) if down else (x + 6, (y1 + y2) // 2)
        anchor = "end" if down else "start"
    else:
        # Going back (reopen): curve below both boxes so it does not cross the main path.
        x1, y1 = a["cx"], a["y"] + NODE_H
        x2, y2 = b["cx"] + 10, b["y"] + NODE_H
        dip = max(y1, y2) + ROW_H // 2 + 10
        path = f"M{x1},{y1} C{x1},{dip} {x2},{dip} {x2},{y2 + 2}"
        lx, ly = (x1 + x2) // 2, dip - 4
    return {
        "path": path,
        "name": name,
        "label": TRANSITION_LABELS[name],
        "lx": lx,
        "ly": ly,
        "anchor": anchor,
    }


def _mirror(nodes: Any, edges: list[dict[str, Any]], width: int) -> None:
    """Flip the drawing left to right, keeping its text readable (only positions move)."""
    for node in nodes:
        node["x"] = width - node["x"] - NODE_W
        node["cx"] = width - node["cx"]
    flip = {"start": "end", "end": "start", "middle": "middle"}
    for edge in edges:
        edge["path"] = re.sub(r"(-?\d+),", lambda m: f"{width - int(m[1])},", edge["path"])
        edge["lx"] = width - edge["lx"]
        edge["anchor"] = flip[edge["anchor"]]


# A campaign's progress bar: segments in this order from the start of the line (the right in a
# right-to-left page), in a 1000-unit-wide drawing (whole numbers: a template would write a
# float with the reader's decimal separator, which SVG does not read).
PROGRESS_WIDTH = 1000
PROGRESS_PARTS = ("sent", "failed", "dead", "waiting")


def progress(counts: dict[str, Any], left_to_plan: int = 0, *, rtl: bool = False) -> dict[str, Any]:
    """The stacked bar of a notice campaign's ``counts`` (incidents.affected.campaigns.tally):
    sent, failed (to be retried), dead, and waiting (queued, plus ``left_to_plan``: people the
    worker has not planned yet), each as wide as its share of them all."""
    values = {
        "sent": counts["sent"],
        "failed": counts["failed"],
        "dead": counts["dead"],
        "waiting": counts["queued"] + left_to_plan,
    }
    total = counts["planned"] + left_to_plan
    segments, start, done = [], 0, 0
    for key in PROGRESS_PARTS:
        done += values[key]
        # Each edge rounded from the running sum, so the widths always add up to the whole.
        end = round(PROGRESS_WIDTH * done / total) if total else 0
        if end > start:
            x = PROGRESS_WIDTH - end if rtl else start
            segments.append({"key": key, "x": x, "width": end - start, "value": values[key]})
        start = end
    return {
        "segments": segments,
        "width": PROGRESS_WIDTH,
        "total": total,
        "left_to_plan": left_to_plan,
        **values,
    }
