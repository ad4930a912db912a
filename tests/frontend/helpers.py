from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client


def browser(user: User | None = None, **headers: str) -> Client:
    client = Client(**headers)
    if user is not None:
        client.force_login(user)
    return client
