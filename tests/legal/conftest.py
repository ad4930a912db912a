"""Fixtures of the legal workspace: seeded jurisdiction rules and a private MEDIA_ROOT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from incidents.legal.obligations import seed_rules


@pytest.fixture
def rules(db: Any) -> list[str]:
    return seed_rules()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
