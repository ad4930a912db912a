"""API tokens that hold (core.models.ApiToken): a lifetime, revoked by a password change however
it is made and by logout, listed and revoked by their owner (an admin: anyone's)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase-42"


def get_token(username: str, password: str = PASSWORD) -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = client_with(key).get("/api/incidents/").status_code
    assert status in (200, 401)
    return status == 200


def test_a_token_comes_with_its_expiry_and_only_a_digest_is_kept(users, settings):
    before = timezone.now()
    body = get_token("engineer")
    assert set(body) == {"token", "expires_at"} and len(body["token"]) == 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    lifetime = dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert before + lifetime <= expires <= timezone.now() + lifetime
    row = ApiToken.objects.get(user=users["engineer"])
    assert body["token"] not in {row.key_digest, row.password_digest}
    assert works(body["token"])


def test_an_expired_token_is_refused(users):
    key = get_token("engineer")["token"]
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert not works(key)


def test_several_tokens_per_person_each_work(users):
    first, second = get_token("engineer")["token"], get_token("engineer")["token"]
    assert first != second and works(first) and works(second)


def test_set_password_revokes_every_token(users):
    key = get_token("engineer")["token"]
    user = User.objects.get(username="engineer")
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not works(key)
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_token_is_bound_to_the_password_even_when_no_signal_fires(users):
    """A password written with update() (no save, no post_save) still ends the token."""
    key = get_token("engineer")["token"]
    user = User.objects.get(username="engineer")
    user.set_password(NEW_PASSWORD)
    User.objects.filter(pk=user.pk).update(password=user.password)
    assert not works(key)


def test_changing_ones_own_password_in_the_admin_revokes_tokens(users):
    key = get_token("admin")["token"]
    browser = Client()
    browser.force_login(users["admin"])
    response = browser.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_an_admin_setting_someones_password_revokes_their_tokens(users):
    key = get_token("engineer")["token"]
    browser = Client()
    browser.force_login(users["admin"])
    response = browser.post(
        f"/admin/auth/user/{users['engineer'].pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_changepassword_command_revokes_tokens(users, monkeypatch):
    from django.contrib.auth.management.commands import changepassword
    from django.core.management import call_command

    key = get_token("engineer")["token"]
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "engineer")
    assert not works(key)


def test_saving_a_user_for_another_reason_keeps_their_tokens(users):
    key = get_token("engineer")["token"]
    user = User.objects.get(username="engineer")
    user.first_name = "Eli"
    user.save()
    assert works(key)


def test_logout_revokes_the_presented_token_only(users):
    first, second = get_token("engineer")["token"], get_token("engineer")["token"]
    assert client_with(first).post("/api/auth/logout/").status_code == 204
    assert not works(first)
    assert works(second)
    assert client_with(first).post("/api/auth/logout/").status_code == 401


def test_the_list_shows_only_ones_own_live_tokens_and_never_a_key(users):
    mine = get_token("engineer")["token"]
    get_token("legal")
    expired = get_token("engineer")["token"]
    newest = ApiToken.objects.filter(user=users["engineer"]).latest("id")
    ApiToken.objects.filter(pk=newest.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client_with(mine).get("/api/me/tokens/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["user"] for r in rows] == ["engineer"]
    assert set(rows[0]) == {"id", "user", "created", "expires_at", "last_used"}
    assert rows[0]["last_used"] is not None  # this very request used it
    assert mine not in response.content.decode() and expired not in response.content.decode()


def test_only_an_admin_lists_someone_elses_tokens(users):
    get_token("legal")
    engineer = client_with(get_token("engineer")["token"])
    assert engineer.get("/api/me/tokens/", {"user": "legal"}).status_code == 403
    assert engineer.get("/api/me/tokens/", {"user": "engineer"}).status_code == 200
    admin = client_with(get_token("admin")["token"])
    listed = admin.get("/api/me/tokens/", {"user": "legal"}).json()["results"]
    assert [r["user"] for r in listed] == ["legal"]


def test_revoking_someone_elses_token_is_a_404_unless_admin(users):
    legal_key = get_token("legal")["token"]
    legal_id = ApiToken.objects.get(user=users["legal"]).pk
    engineer = client_with(get_token("engineer")["token"])
    assert engineer.delete(f"/api/me/tokens/{legal_id}/").status_code == 404
    assert engineer.delete("/api/me/tokens/999999999999999999999/").status_code == 404
    assert works(legal_key)
    admin = client_with(get_token("admin")["token"])
    assert admin.delete(f"/api/me/tokens/{legal_id}/").status_code == 204
    assert not works(legal_key)


def test_revoking_ones_own_token(users):
    key = get_token("engineer")["token"]
    token_id = ApiToken.objects.get(user=users["engineer"]).pk
    assert client_with(key).delete(f"/api/me/tokens/{token_id}/").status_code == 204
    assert not works(key)


def test_last_used_is_written_at_most_once_a_minute(users):
    key = get_token("engineer")["token"]
    client = client_with(key)
    client.get("/api/me/tokens/")
    first = ApiToken.objects.get().last_used
    assert first is not None
    client.get("/api/me/tokens/")
    assert ApiToken.objects.get().last_used == first  # no write within the minute
    two_minutes_ago = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.update(last_used=two_minutes_ago)
    client.get("/api/me/tokens/")
    assert ApiToken.objects.get().last_used >= first


def test_the_admin_lists_and_revokes_tokens(users):
    key = get_token("engineer")["token"]
    token = ApiToken.objects.get(user=users["engineer"])
    browser = Client()
    browser.force_login(users["admin"])
    page = browser.get("/admin/core/apitoken/")
    assert page.status_code == 200 and key not in page.content.decode()
    response = browser.post(
        "/admin/core/apitoken/",
        {"action": "delete_selected", "_selected_action": [token.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not works(key)


def test_the_live_stream_refuses_an_expired_or_password_changed_token(users):
    """The websocket asks core.authentication at connect and again while connected."""
    from core.authentication import user_for_credential

    expiring, bound = get_token("engineer")["token"], get_token("engineer")["token"]
    assert user_for_credential(("token", expiring)).username == "engineer"
    ApiToken.objects.filter(pk=ApiToken.objects.order_by("id").first().pk).update(
        expires_at=timezone.now()
    )
    assert not user_for_credential(("token", expiring)).is_authenticated
    assert user_for_credential(("token", bound)).is_authenticated
    user = users["engineer"]
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not user_for_credential(("token", bound)).is_authenticated
