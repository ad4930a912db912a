"""The models and their migrations agree: a model change without its migration fails here, not
on someone's database."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) if not
