"""What the browser tests share beyond the running app (tests/e2e/test_browser_dashboard.py):
one chromium per test, axe-core injected into a page, its violations told readably, and the
languages and widths every page is tried in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser_dashboard import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    _skip_or_fail,
    served,  # noqa: F401  (browser_pages needs the app's own skips first)
)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"fa": "fa-IR", "en": "en-US"}


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE.exists():
        _skip_or_fail(f"needs {AXE.relative_to(ROOT)} (npm ci --no-audit --no-fund)")
    return AXE


@pytest.fixture
def browser_pages(served: tuple[str, dict[str, str]]) -> Iterator[Any]:  # noqa: F811
    """A chromium for one test; its contexts are the people signed in."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=30000
        )
        try:
            yield browser
        finally:
            browser.close()


def violations(page: Any, script: Path) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (the context must bypass the CSP: axe
    is a script the page's policy does not list)."""
    page.add_script_tag(path=str(script))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " +
                    (n.failureSummary || "").replace(/\\s+/g, " ")),
            }));
        }"""
    )


def readable(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"{where}: [{v['impact']}] {v['id']}: {v['help']}")
            lines += [f"    {node}" for node in v["nodes"]]
    return "\n".join(lines)
