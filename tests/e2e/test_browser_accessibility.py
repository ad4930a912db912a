"""axe-core (from the npm registry: package.json, `make test` installs it) in a real browser:
zero violations on every page the demo reaches, in Persian and English, on a 1366 px desktop
and a 390 px phone. Screenshots of each page go to var/screenshots/; with
BREACH_DESK_WRITE_DOCS_IMAGES=1 the README's "first steps" pictures are written to docs/img/."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from typing import Any

import pytest

from tests.e2e.browser import (
    LANGUAGES,
    WIDTHS,
    axe_script,  # noqa: F401  (fixture)
    browser_pages,  # noqa: F401  (fixture)
    readable,
    violations,
)
from tests.e2e.test_browser_dashboard import (
    ROOT,
    screenshot_dir,
    served,  # noqa: F401  (the module's running app)
    sign_in,
    token_of,
)

pytestmark = pytest.mark.e2e

DOCS_IMAGES = os.environ.get("BREACH_DESK_WRITE_DOCS_IMAGES") == "1"


def get(base: str, path: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def call(base: str, method: str, path: str, token: str, body: Any = None, **headers: str) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def notice(served: tuple[str, dict[str, str]]) -> tuple[str, int]:  # noqa: F811
    """An incident whose people are to be told, with a drafted notice campaign (the README's
    walkthrough of notices, shortened): its preview page and its public notice page exist."""
    base, passwords = served
    engineer = token_of(base, passwords, "engineer")
    legal = token_of(base, passwords, "legal")
    body = {"title": "Customer table copied", "severity": "high"}
    ref = call(base, "POST", "/api/incidents/", engineer, body)["reference"]
    scope = {"data_categories": ["identity", "contact"], "affected_subjects_estimate": 1}
    call(base, "PATCH", f"/api/incidents/{ref}/", engineer, scope)
    person = {"customer_id": "A-1", "email": "a1@example.com", "language": "en"}
    call(base, "POST", f"/api/incidents/{ref}/affected-people/", legal, person)
    decision = {"outcome": "notify", "reason": "Contacts leaked: phishing is likely."}
    url = f"/api/incidents/{ref}/notification-decision/"
    call(base, "PUT", url, legal, decision, **{"If-Match": '"0"'})
    campaign = call(base, "POST", f"/api/incidents/{ref}/notice-campaigns/", legal, {})["id"]
    return ref, campaign


def done_required(base: str, ref: str, engineer: str, admin: str) -> None:
    """The open required tasks done: the engineer does the work, the admin (a second engineer)
    confirms the fix, as the README's walkthrough does."""
    tasks = call(base, "GET", f"/api/incidents/{ref}/tasks/", engineer)
    for task in sorted(tasks, key=lambda t: t["confirms"]):
        if task["required"] and not task["done"]:
            who = admin if task["confirms"] else engineer
            call(base, "PATCH", f"/api/incidents/{ref}/tasks/{task['id']}/", who, {"done": True})


@pytest.fixture(scope="module")
def finished(served: tuple[str, dict[str, str]]) -> dict[str, str]:  # noqa: F811
    """A low-severity incident driven to "restored", and another on to "closed" (no referral,
    legal's reason): seed_demo stops earlier."""
    base, passwords = served
    engineer, admin = token_of(base, passwords, "engineer"), token_of(base, passwords, "admin")
    legal = token_of(base, passwords, "legal")
    found = {}
    for state in ("restored", "closed"):
        body = {"title": f"Lost laptop ({state})", "severity": "low"}
        ref = call(base, "POST", "/api/incidents/", engineer, body)["reference"]
        move = f"/api/incidents/{ref}/transitions/"
        call(base, "POST", move + "start_scoping/", engineer, {})
        scope = {
            "attack_vector": "undetermined",
            "affected_systems": [{"name": "laptop-17", "hosting": "own"}],
            "affected_subjects_estimate": 0,
        }
        call(base, "PATCH", f"/api/incidents/{ref}/", engineer, scope)
        done_required(base, ref, engineer, admin)
        call(base, "POST", move + "start_restoration/", engineer, {})
        done_required(base, ref, engineer, admin)
        summary = {"restoration_summary": "Disk was encrypted; device wiped remotely."}
        call(base, "POST", move + "mark_restored/", engineer, summary)
        if state == "closed":
            call(base, "POST", move + "close/", legal, {"reason": "No personal data at risk."})
        found[state] = ref
    return found


def references_by_state(base: str, token: str) -> dict[str, str]:
    """One seeded incident per state (seed_demo drives them there through the domain)."""
    found: dict[str, str] = {}
    for row in get(base, "/api/incidents/?page_size=100", token)["results"]:
        found.setdefault(row["state"], row["reference"])
    return found


def not_found_html(language: str) -> str:
    """The friendly 404 as a page without DEBUG renders it (the served demo runs with DEBUG,
    where Django shows its technical page instead)."""
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404
    from django.test import RequestFactory
    from django.utils import translation

    from core.api.http import not_found

    request = RequestFactory().get("/no-such-page/")
    request.user = AnonymousUser()
    with translation.override(language):
        return not_found(request, Http404()).content.decode()


def public_check(page: Any, notice_path: str, address: str, check: Any) -> None:
    """The public "Am I affected?" steps a browser reaches without the code: each refused form
    comes back (303) to its own page with the summary focused, never to the POST's address."""
    page.fill("#id_address", "not an address")
    page.click("#check button[type=submit]")
    page.wait_for_function("document.activeElement.id === 'error-summary'", timeout=5000)
    assert page.url.endswith(f"{notice_path}#error-summary")
    check("public-notice-failed")
    page.fill("#id_address", address)
    page.click("#check button[type=submit]")
    page.wait_for_url(f"**{notice_path}verify/")
    check("public-code")
    page.fill("#id_code", "12")
    page.click("#check button[type=submit]")
    page.wait_for_function("document.activeElement.id === 'error-summary'", timeout=5000)
    assert page.url.endswith(f"{notice_path}verify/#error-summary")
    assert page.get_attribute("#id_code", "aria-invalid") == "true"
    check("public-code-failed")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_page_has_no_axe_violations(
    served,  # noqa: F811
    browser_pages,  # noqa: F811
    axe_script,  # noqa: F811
    notice,
    finished,
    language,
    width,
):
    base, passwords = served
    token = token_of(base, passwords, "admin")
    states = {**references_by_state(base, token), **finished}
    # axe is injected as a script the page's CSP does not list: allowed in this context only.
    context = browser_pages.new_context(
        locale=LANGUAGES[language], viewport=WIDTHS[width], bypass_csp=True
    )
    page = context.new_page()
    shots = screenshot_dir() / "accessibility"
    shots.mkdir(exist_ok=True)
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(base + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(shots / f"{name}-{language}-{width}.png"), full_page=True)
        assert page.locator("h1").count() == 1, f"{name}: one h1"
        if items := violations(page, axe_script):
            found[name] = items

    check("login", "/login/")
    sign_in(page, base, "admin", passwords["admin"])
    check("dashboard", "/")
    check("incidents", "/incidents/")
    for state, reference in sorted(states.items()):
        check(f"incident-{state}", f"/incidents/{reference}/")
    check("register", f"/incidents/{next(iter(states.values()))}/affected-people/")
    check("profile", "/profile/")
    check("alert-preferences", "/profile/alerts/")
    check("on-call", "/oncall/")
    ref, campaign = notice
    check("notice-preview", f"/incidents/{ref}/notice-campaigns/{campaign}/preview/")
    public = re.search(r"/notice/[\w-]+/", page.content())
    assert public, "the preview links the public notice page"
    check("public-notice", public.group(0))
    public_check(page, public.group(0), f"visitor-{language}-{width}@example.net", check)
    # A failed form: a blank note is refused; the page comes back with its error summary.
    reference = states.get("scoping") or next(iter(states.values()))
    page.goto(f"{base}/incidents/{reference}/")
    page.locator("form[action$='/notes/']").evaluate(
        "form => { form.elements.text.value = '   '; form.requestSubmit(); }"
    )
    page.wait_for_selector("#error-summary")
    # The focus is on the summary (the fragment's target, and error_summary.js once loaded).
    page.wait_for_function("document.activeElement.id === 'error-summary'", timeout=5000)
    assert "/notes/" not in page.url  # the page's own address: a reload never re-posts
    check("failed-form")
    page.route(
        base + "/no-such-page/",
        lambda route: route.fulfill(
            status=404, content_type="text/html", body=not_found_html(language)
        ),
    )
    check("not-found", "/no-such-page/")
    context.close()
    assert not found, "axe-core violations:\n" + readable(found)


@pytest.mark.skipif(not DOCS_IMAGES, reason="set BREACH_DESK_WRITE_DOCS_IMAGES=1 to rewrite them")
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_first_steps_pictures_for_the_readme(served, browser_pages, language):  # noqa: F811
    base, passwords = served
    context = browser_pages.new_context(locale=LANGUAGES[language], viewport=WIDTHS["desktop"])
    page = context.new_page()
    sign_in(page, base, "engineer", passwords["engineer"])
    target = ROOT / "docs" / "img" / f"first-steps-{language}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    context.close()
