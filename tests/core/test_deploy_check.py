"""`manage.py check --deploy` with the production environment of .env.example: zero warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_check_deploy_is_clean_with_the_production_example(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_URL"))}
    env.pop("DATABASE_URL", None)
    env.update(env_example())
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_DEBUG="0",
        # The example's placeholder is deliberately weak; a real deployment sets a long one.
        DJANGO_SECRET_KEY="tests-only-" + "".join(chr(65 + i % 50) for i in range(60)),
        # The example leaves the register's key empty: each deployment makes its own.
        PII_ENCRYPTION_KEY="dGVzdHMtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM=",
        # Compose points RECORD_SIGNING_KEY at its secret; here, the tests' own key file.
        RECORD_SIGNING_KEY=str(ROOT / "tests" / "record_signing_test_key.pem"),
        DATABASE_URL="",
        REDIS_URL="",
        BREACH_DESK_VAR_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$", r"^readyz$"])
def test_https_redirect_spares_health_probes_and_trusts_the_proxy_header() -> None:
    client = Client()
    assert client.get("/healthz").status_code == 200
    redirected = client.get("/login/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
    # Behind nginx, the request came over https when nginx says so.
    assert client.get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


@pytest.mark.django_db
def test_schema_documents_the_telegram_link_and_subscription_answers(api: Any) -> None:
    schema = api("engineer").get("/api/schema/", {"format": "json"}).json()
    link = schema["paths"]["/api/me/telegram-link/"]
    assert "201" in link["post"]["responses"] and "200" not in link["post"]["responses"]
    assert "token" in schema["components"]["schemas"]["LinkToken"]["properties"]
    follow = next(v for k, v in schema["paths"].items() if k.startswith("/api/me/subscriptions/{"))
    assert {"200", "201"} <= set(follow["put"]["responses"])


@pytest.mark.django_db
def test_schema_says_commander_and_decided_by_may_be_null(api: Any) -> None:
    schemas = api("engineer").get("/api/schema/", {"format": "json"}).json()["components"]
    nullable = [
        name
        for name, schema in schemas["schemas"].items()
        for field in ("commander", "decided_by")
        if schema.get("properties", {}).get(field, {}).get("readOnly")
        and not schema["properties"][field].get("nullable")
    ]
    assert nullable == []
    assert any("decided_by" in s.get("properties", {}) for s in schemas["schemas"].values())
