"""In chromium: the admin and Swagger UI render under their Content-Security-Policy with no
violation reported, and Swagger UI loads the schema (issue 17 item 4; core/third_party_csp.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser_dashboard import page, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def admin_sign_in(page: Any, base: str, password: str) -> None:  # noqa: F811
    page.goto(base + "/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")


def test_admin_and_api_docs_render_without_csp_violations(
    page: Any,  # noqa: F811
    served: tuple[str, dict[str, str]],  # noqa: F811
) -> None:
    base, passwords = served
    admin_sign_in(page, base, passwords["admin"])
    response = page.goto(base + "/admin/auth/user/add/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#user_form")
    page.goto(base + "/admin/incidents/incident/")
    page.wait_for_selector("#changelist")
    response = page.goto(base + "/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Operations appear only once Swagger UI has fetched and rendered /api/schema/.
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.csp_errors == []
