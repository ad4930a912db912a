"""The admin and the API docs carry a Content-Security-Policy that their own markup satisfies:
no inline script anywhere, and every inline <style> allowed by its hash (issue 17 item 4)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.third_party_csp import inline_style_hashes

ADMIN_PAGES = [
    "/admin/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/incidents/incident/",
]


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = User.objects.create_superuser("csp-admin", password="csp-admin-pass-1")
    client = Client()
    client.force_login(user)
    return client


def policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def assert_markup_fits(html: str, rules: dict[str, list[str]]) -> None:
    assert rules["script-src"] == ["'self'"]
    assert rules["object-src"] == ["'none'"]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html)
    assert inline_scripts == [], inline_scripts
    for allowed in inline_style_hashes(html):
        assert allowed in rules["style-src"], allowed
    # Inline style attributes would need 'unsafe-inline'; none may be there.
    assert not re.search(r"<[^>]+\sstyle=", html)


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_carry_a_policy_their_markup_satisfies(admin_client: Client, path: str) -> None:
    response = admin_client.get(path)
    assert response.status_code == 200, path
    assert_markup_fits(response.content.decode(), policy(response))


def test_the_admin_sign_in_page_carries_the_policy(db: Any) -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert_markup_fits(response.content.decode(), policy(response))


def test_the_api_docs_carry_a_policy_their_markup_satisfies(admin_client: Client) -> None:
    response = admin_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    rules = policy(response)
    assert_markup_fits(html, rules)
    assert inline_style_hashes(html), "the docs page's inline <style> is hashed"
    # Its start-up script is a same-origin file (split view), which loads the schema.
    script = re.findall(r'<script src="([^"]*\?script=[^"]*)"', html)
    assert script, html
    init = admin_client.get(script[0].replace("&amp;", "&"))
    assert init.status_code == 200 and "/api/schema/" in init.content.decode()
