"""The live dashboard in a real browser: fresh panels arrive on the socket, rendered once on the
server for every viewer of a variant; the browser never asks for them, and its ages and
countdowns move with the clock, not with server renders."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_browser_dashboard import (  # noqa: F401  (fixtures)
    api,
    page,
    served,
    sign_in,
    token_of,
)

pytestmark = pytest.mark.e2e


def _dashboard_requests(page, base: str) -> list[str]:  # noqa: F811
    """Every request the page makes to the dashboard's own address from now on."""
    seen: list[str] = []
    page.on(
        "request",
        lambda r: urlsplit(r.url).path == "/" and r.url.startswith(base) and seen.append(r.url),
    )
    return seen


def test_panels_change_after_an_event_without_asking_the_server(served, page):  # noqa: F811
    base, passwords = served
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    sign_in(page, base, "executive", passwords["executive"])
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    assert page.get_attribute("#live", "data-ws-path") == "/ws/dashboard/?lang=en"
    asked = _dashboard_requests(page, base)
    before = int(page.get_attribute("#panels", "data-seq"))
    token = token_of(base, passwords, "engineer")
    created = api(
        base, "POST", "/api/incidents/", {"title": "Pushed panels", "severity": "high"}, token=token
    )
    row = f'#open-incidents tr[data-reference="{created["reference"]}"]'
    page.wait_for_selector(row, timeout=3000)
    assert int(page.get_attribute("#panels", "data-seq")) > before
    assert "Pushed panels" in page.locator("#live-feed").inner_text()
    # They came as a delta from the first panels (only the lines that changed).
    assert any('"type": "panels"' in f and '"parts"' in f for f in frames if isinstance(f, str))
    # The verification form of a legal reader's panels is not there for an executive; the
    # sign-out form keeps the page's own token.
    page.wait_for_timeout(300)
    assert asked == []


def test_ages_tick_in_the_browser_without_a_render(served, page):  # noqa: F811
    base, passwords = served
    page.clock.install()
    sign_in(page, base, "legal", passwords["legal"])
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    asked = _dashboard_requests(page, base)
    token = token_of(base, passwords, "engineer")
    created = api(
        base, "POST", "/api/incidents/", {"title": "Ticks", "severity": "low"}, token=token
    )
    row = f'#open-incidents tr[data-reference="{created["reference"]}"]'
    page.wait_for_selector(row, timeout=3000)
    ticking = page.locator(f"{row} time.elapsed")
    was = ticking.all_inner_texts()
    page.clock.run_for("03:00:00")  # three hours, the minute clock ticking through them
    now = ticking.all_inner_texts()
    assert was != now and len(now) == 2, (was, now)
    assert all(re.fullmatch(r"2 hours 5\d minutes|3 hours", text) for text in now), now
    assert asked == []
    # The pushed panels' form gets the page's token, not the shared slot.
    tokens = page.locator("#record-verification input[name=csrfmiddlewaretoken]")
    assert tokens.get_attribute("value") not in ("", "csrf-slot")
