"""A real browser (Debian's chromium, driven by Playwright) against a real daphne: the executive's
dashboard changes live while an engineer works through the API, in English and in Persian."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jdatetime
import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.e2e.servers import demo_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BREACH_DESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
pytestmark = pytest.mark.e2e


def _skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (BREACH_DESK_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def screenshot_dir() -> Path:
    from django.conf import settings

    path = Path(settings.VAR_DIR) / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """migrate + seed_demo + daphne (DEBUG, own SQLite file, in-memory channel layer)."""
    if not CHROMIUM.exists():
        _skip_or_fail(f"needs chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("needs the playwright package")
    with demo_app(tmp_path_factory.mktemp("browser")) as app:
        yield app


def api(
    base: str, method: str, path: str, body: dict | None = None, token: str | None = None
) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body or {}).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Token {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def page(served: tuple[str, dict[str, str]]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=30000
        )
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.csp_errors = []
            page.on(
                "console",
                lambda m: "Content Security Policy" in m.text and page.csp_errors.append(m.text),
            )
            yield page
        finally:
            browser.close()


def token_of(base: str, passwords: dict[str, str], username: str) -> str:
    body = {"username": username, "password": passwords[username]}
    return api(base, "POST", "/api/auth/token/", body)["token"]


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")


def test_executive_dashboard_follows_engineer_changes_live(served, page):
    base, passwords = served
    sign_in(page, base, "executive", passwords["executive"])
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    page.evaluate("window.__noReload = true")
    token = token_of(base, passwords, "engineer")
    title = "<img src=x onerror=window.__xss=1> Live test"
    created = api(
        base, "POST", "/api/incidents/", {"title": title, "severity": "critical"}, token=token
    )
    reference = created["reference"]
    row = f'#open-incidents tr[data-reference="{reference}"]'
    page.wait_for_selector(row, timeout=2000)
    started = time.monotonic()
    api(base, "POST", f"/api/incidents/{reference}/transitions/start_scoping/", token=token)
    page.wait_for_selector(f"{row} .pill.s-scoping", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.evaluate("window.__noReload") is True
    assert page.locator("#live-feed").inner_text().count(title) >= 2
    live = page.locator("#live-feed li[data-seq] time").first.inner_text()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", live), live  # as the server writes it
    assert page.evaluate("window.__xss") is None
    assert page.locator("#live-feed img, #panels img").count() == 0
    assert page.csp_errors == []
    page.screenshot(path=str(screenshot_dir() / "dashboard-en.png"), full_page=True)


def test_switching_to_persian_gives_rtl_and_jalali_dates(served, page):
    base, passwords = served
    sign_in(page, base, "executive", passwords["executive"])
    assert page.get_attribute("html", "dir") == "ltr"
    page.click("#lang-fa")
    page.wait_for_selector("html[dir=rtl][lang=fa]")
    year = str(jdatetime.date.today().year).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    # The timeline says when in words ("۳ دقیقه پیش"), the exact moment on hover and focus.
    times = page.locator("#latest-events time")
    dates = times.evaluate_all("els => els.map(e => e.title)")
    assert dates and all(
        re.fullmatch(year + r"/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}", d) for d in dates
    ), dates
    words = times.all_inner_texts()
    assert all(w and not re.search(r"[0-9]", w) for w in words), words
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    # A live entry's time reads like the server's: Jalali, Persian digits, 24-hour.
    token = token_of(base, passwords, "engineer")
    api(base, "POST", "/api/incidents/", {"title": "Live fa", "severity": "low"}, token=token)
    page.wait_for_selector("#live-feed li[data-seq] time", timeout=3000)
    live = page.locator("#live-feed li[data-seq] time").first.inner_text()
    assert re.fullmatch(year + r"/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}", live), live
    assert page.csp_errors == []
    page.screenshot(path=str(screenshot_dir() / "dashboard-fa.png"), full_page=True)


def test_engineer_on_a_phone_scopes_and_transitions(served, page):
    base, passwords = served
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, base, "engineer", passwords["engineer"])
    token = token_of(base, passwords, "engineer")
    reference = api(
        base, "POST", "/api/incidents/", {"title": "Phone test", "severity": "high"}, token=token
    )["reference"]
    page.goto(f"{base}/incidents/{reference}/")
    page.click("#action-start_scoping button[type=submit]")
    page.wait_for_selector("#state.s-scoping")
    assert page.is_disabled("#action-start_restoration button")
    page.click("text=" + page.locator("#h-scope ~ details summary").inner_text())
    page.select_option("#id_attack_vector", "phishing")
    page.fill("#id_affected_systems", "mail-gw")
    page.check("input[name=data_categories][value=contact]")
    page.fill("#id_affected_subjects_estimate", "40")
    page.click("#h-scope ~ details button[type=submit]")
    # The runbook's required task (preserve the logs) holds back restoration: done from the page.
    page.click("#tasks li.task:not(.done):has(.pill) .task-check button")
    page.wait_for_selector("#tasks li.task.done")
    page.wait_for_selector("#action-start_restoration form")
    page.focus("#action-start_restoration button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#state.s-restoring")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, "the page scrolls sideways on a phone"
    assert page.csp_errors == []
    page.screenshot(path=str(screenshot_dir() / "incident-phone-en.png"), full_page=True)


def test_dashboard_catches_up_after_missing_events_while_disconnected(served, page):
    base, passwords = served
    sign_in(page, base, "executive", passwords["executive"])
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    # Reconnects go to a path with no stream until the test lets them through again.
    page.evaluate("""() => {
        window.__RealWebSocket = window.WebSocket;
        window.WebSocket = function (url) {
            return new window.__RealWebSocket(url.replace('/ws/dashboard/', '/ws/nowhere/'));
        };
        window.breachDeskLive.socket().close();
    }""")
    page.wait_for_selector("#live[data-state=reconnecting], #live[data-state=offline]")
    token = token_of(base, passwords, "engineer")
    reference = api(
        base,
        "POST",
        "/api/incidents/",
        {"title": "Missed while away", "severity": "low"},
        token=token,
    )["reference"]
    row = f'#open-incidents tr[data-reference="{reference}"]'
    page.wait_for_timeout(500)
    assert page.locator(row).count() == 0  # really disconnected: nothing arrived
    page.evaluate("() => { window.WebSocket = window.__RealWebSocket; }")
    # The next backoff retry: the panels come after hello, the missed events from the feed.
    page.wait_for_selector(row, timeout=20000)
    page.wait_for_selector("#live[data-state=live]")
    assert "Missed while away" in page.locator("#live-feed").inner_text()


def test_signing_out_in_another_tab_ends_the_dashboards_stream(served, page):
    base, passwords = served
    sign_in(page, base, "executive", passwords["executive"])
    page.wait_for_selector("#live[data-state=live]", timeout=10000)
    other = page.context.new_page()
    other.goto(base + "/")
    other.click("form[action='/logout/'] button")
    other.wait_for_url(re.compile(r".*/login/.*"))
    # The server closes the open stream (4401); the page says so and stops reconnecting.
    page.wait_for_selector("#live[data-state=ended]", timeout=5000)
    live = page.locator("#live")
    assert live.inner_text() == live.get_attribute("data-label-ended")  # "... reload the page"
    page.wait_for_timeout(1500)
    assert page.locator("#live").get_attribute("data-state") == "ended"


def test_legal_sees_every_recorded_scope_fact_on_the_incident_page(served, page):
    """The values beside each label are inside their card, however narrow: a layout once gave
    the label column its full natural width and pushed the values past the card's edge."""
    base, passwords = served
    token = token_of(base, passwords, "legal")
    found = api(base, "GET", "/api/incidents/?search=Phishing%20campaign", token=token)
    reference = found["results"][0]["reference"]
    sign_in(page, base, "legal", passwords["legal"])
    page.goto(f"{base}/incidents/{reference}/")
    scope = page.locator("section[aria-labelledby=h-scope]")
    for text in ("Phishing", "shop-db"):
        assert scope.get_by_text(text).first.is_visible()
    card = scope.bounding_box()
    for value in scope.locator("dd").all():
        box = value.bounding_box()
        assert box["width"] > 10, value.inner_text()
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"], (
            value.inner_text(),
            box,
            card,
        )


def test_incident_page_says_when_someone_else_changes_it_and_keeps_the_typing(served, page):
    base, passwords = served
    sign_in(page, base, "engineer", passwords["engineer"])
    engineer, admin = (token_of(base, passwords, name) for name in ("engineer", "admin"))
    created = api(
        base, "POST", "/api/incidents/", {"title": "Watched", "severity": "high"}, token=engineer
    )
    reference = created["reference"]
    page.goto(f"{base}/incidents/{reference}/")
    page.locator("summary", has_text="Edit summary").click()
    page.fill("#id_summary", "half-typed analysis")
    # The engineer's own change elsewhere (another tab, the API) is no news to them.
    api(base, "POST", f"/api/incidents/{reference}/notes/", {"text": "mine"}, token=engineer)
    time.sleep(0.5)
    assert page.locator("#changed").is_hidden()
    api(base, "POST", f"/api/incidents/{reference}/transitions/start_scoping/", token=admin)
    page.wait_for_selector("#changed:not([hidden])", timeout=3000)
    assert "Scoping started by admin" in page.locator("#changed").inner_text()
    assert page.input_value("#id_summary") == "half-typed analysis"  # nothing reloaded
    assert page.csp_errors == []
