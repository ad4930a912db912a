"""Pages need the compiled translations; `make test` builds them, a bare pytest run builds here."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from frontend.management.commands.compile_translations import compile_all


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    compile_all()


@pytest.fixture(autouse=True)
def clear_login_throttle() -> None:
    # The throttle lives in the cache, which outlives one test's database.
    cache.clear()
