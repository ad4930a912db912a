"""Test-process defaults, applied before Django reads its settings."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("BREACH_DESK_VAR_DIR", os.path.join(os.path.dirname(__file__), "var"))
