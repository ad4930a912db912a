"""Fixtures of the legal workspace: seeded jurisdiction rules and a private MEDIA_ROOT; and the
notices' (a second legal user, a real SMTP server and an SMS gateway on loopback) for the
dossier's section on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incidents.legal.obligations import seed_rules
from tests.notices.conftest import legal2, notice_settings, sms_gateway, smtp  # noqa: F401


@pytest.fixture
def rules(db: Any) -> list[str]:
    return seed_rules()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
