"""A real browser on the incident page's notices (issue 18): an admin approves a campaign legal
drafted (four eyes), the real worker sends it, and the page follows the progress to the
end without a reload (the section polls while a campaign is in flight: sends write no event)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.servers import demo_app, demo_env

# The browser, its fixture (page) and the API helpers of the dashboard's browser test.
from tests.e2e.test_browser_dashboard import (  # noqa: F401  (fixtures)
    CHROMIUM,
    _skip_or_fail,
    api,
    page,
    screenshot_dir,
    sign_in,
    token_of,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    if not CHROMIUM.exists():
        _skip_or_fail(f"needs chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("needs the playwright package")
    tmp = tmp_path_factory.mktemp("notices-browser")
    with demo_app(tmp) as (base, passwords):
        yield base, {**passwords, "__var__": str(tmp)}


def run_worker(var_dir: str) -> None:
    """The notifier worker as `make run` starts it (the demo server's settings: DEBUG, its
    SQLite file, mail to var/mail/), until nothing is due."""
    env = demo_env(var_dir)
    command = [sys.executable, "manage.py", "run_notifier", "--until-idle", "--max-seconds", "30"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)


def test_a_second_person_approves_and_the_page_follows_the_sending(
    served: tuple[str, dict[str, str]],
    page: Any,  # noqa: F811
) -> None:
    base, passwords = served
    engineer = token_of(base, passwords, "engineer")
    legal = token_of(base, passwords, "legal")
    incident = api(
        base, "POST", "/api/incidents/", {"title": "Notice e2e", "severity": "high"}, engineer
    )
    ref = incident["reference"]
    for n, language in ((1, "en"), (2, "fa")):
        person = {"customer_id": f"E-{n}", "email": f"e{n}@example.com", "language": language}
        api(base, "POST", f"/api/incidents/{ref}/affected-people/", person, legal)
    campaign = api(base, "POST", f"/api/incidents/{ref}/notice-campaigns/", {}, legal)["id"]
    status = f"#campaign-{campaign}-status"

    sign_in(page, base, "admin", passwords["admin"])
    page.goto(f"{base}/incidents/{ref}/#notices")
    page.wait_for_selector(f'{status}[data-state="draft"]')
    page.click(f'form[action$="/notice-campaigns/{campaign}/approve/"] button[type=submit]')
    page.wait_for_selector(f'{status}[data-state="approved"]', timeout=5000)
    assert page.locator("#notices-poll[hx-trigger]").count() == 1
    page.evaluate("window.__noReload = true")

    started = time.monotonic()
    # The worker sends in one run and finishes the campaign in a later round; a run with
    # --until-idle may end in between, so it is run again, as a cron or `make run` would.
    url = f"/api/incidents/{ref}/notice-campaigns/{campaign}/"
    for _run in range(3):
        run_worker(passwords["__var__"])
        if api(base, "GET", url, token=legal)["state"] == "finished":
            break
    page.wait_for_selector(f'{status}[data-state="finished"]', timeout=15000)
    assert time.monotonic() - started < 40
    assert page.evaluate("window.__noReload") is True  # the numbers were swapped in
    assert page.locator("#people-counts .notified").inner_text() == "2"
    assert page.locator(f'{status} rect[data-part="sent"]').get_attribute("width") == "1000"
    assert page.locator("#notices-poll[hx-trigger]").count() == 0  # polling stopped
    # The forms were not replaced (nothing typed is lost); the step that is over is hidden.
    assert page.locator(f"#campaign-{campaign} details.cancel").count() == 1
    assert not page.locator(f"#campaign-{campaign} details.cancel").is_visible()
    assert page.csp_errors == []
    page.screenshot(path=str(screenshot_dir() / "notices-en.png"), full_page=True)


def test_a_campaign_event_refreshes_the_numbers_at_once(
    served: tuple[str, dict[str, str]],
    page: Any,  # noqa: F811
) -> None:
    base, passwords = served
    engineer = token_of(base, passwords, "engineer")
    legal = token_of(base, passwords, "legal")
    incident = api(
        base, "POST", "/api/incidents/", {"title": "Cancel e2e", "severity": "low"}, engineer
    )
    ref = incident["reference"]
    campaign = api(base, "POST", f"/api/incidents/{ref}/notice-campaigns/", {}, legal)["id"]
    sign_in(page, base, "admin", passwords["admin"])
    page.goto(f"{base}/incidents/{ref}/")
    page.wait_for_selector(f'#campaign-{campaign}-status[data-state="draft"]')
    page.wait_for_function("window.htmx !== undefined")
    page.click(f"#campaign-{campaign} details.cancel summary")
    page.fill(f"#campaign-{campaign}-reason", "typed, not lost")  # the admin was writing a reason
    page.evaluate("window.__noReload = true")
    time.sleep(1)  # the page's socket is open by now (its hello asked for the catch-up)
    started = time.monotonic()
    body = {"reason": "Wrong letter"}
    api(base, "POST", f"/api/incidents/{ref}/notice-campaigns/{campaign}/cancel/", body, legal)
    page.wait_for_selector(f'#campaign-{campaign}-status[data-state="cancelled"]', timeout=3000)
    assert time.monotonic() - started < 3.0
    assert "Wrong letter" in page.inner_text(f"#campaign-{campaign}-status")
    assert page.evaluate("window.__noReload") is True
    assert page.input_value(f"#campaign-{campaign}-reason") == "typed, not lost"
    page.wait_for_selector("#changed:not([hidden])")  # someone else did it: said so too
    assert page.csp_errors == []
