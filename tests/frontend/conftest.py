"""Page tests: translations are compiled and each test gets its own cache namespace (so an
empty sign-in limiter) in tests/conftest.py."""
