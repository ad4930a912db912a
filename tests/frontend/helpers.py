from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client


def browser(user: User | None = None, **headers: str) -> Client:
    client = Client(**headers)
    if user is not None:
        client.force_login(user)
    return client


def shown_again(response: HttpResponse) -> str:
    """A refused form (sent with ``follow=True``): answered 303 to the form's page, so a reload
    never sends it again, and that page (200) shows it with its errors. Returns its HTML."""
    assert response.redirect_chain, "a refused form is redirected to its page"
    assert response.redirect_chain[0][1] == 303, response.redirect_chain
    assert response.status_code == 200
    return response.content.decode()
