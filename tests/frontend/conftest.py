"""Page tests start with an empty login throttle (translations: tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clear_login_throttle() -> None:
    # The throttle lives in the cache, which outlives one test's database.
    cache.clear()
