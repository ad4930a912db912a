"""Settings for the test suite: the real settings, with test-only defaults filled in first."""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# The test client speaks plain http; production's https redirect is tested in a subprocess.
os.environ.setdefault("DJANGO_SSL_REDIRECT", "0")
# A fixed test key for the affected-people register (core/pii.py); servers the tests start
# inherit it, so what a test seals a server opens.
os.environ.setdefault("PII_ENCRYPTION_KEY", "dGVzdHMtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM=")
# A fixed, test-only key for the record's signed checkpoints (core/record_key.py); servers and
# commands the tests start inherit it.
os.environ.setdefault(
    "RECORD_SIGNING_KEY", str(Path(__file__).resolve().parent / "record_signing_test_key.pem")
)
os.environ.setdefault("BREACH_DESK_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var"))

from core.settings import *  # noqa: E402,F403

# Hashing passwords at full strength would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
