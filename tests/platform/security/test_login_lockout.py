"""Sign-in throttling: five wrong passwords lock a username from that address (django-axes)."""

from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db):
    return User.objects.create_user(username="pat", password="correct horse battery staple")


def _sign_in(client, password: str):
    return client.post("/accounts/login/", {"username": "pat", "password": password})


def test_five_wrong_passwords_lock_out_even_the_right_one(client, person):
    for _ in range(5):
        assert _sign_in(client, "wrong").status_code in (200, 429)
    response = _sign_in(client, "correct horse battery staple")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, person):
    for _ in range(4):
        _sign_in(client, "wrong")
    assert _sign_in(client, "correct horse battery staple").status_code == 302
    client.logout()
    for _ in range(4):
        _sign_in(client, "wrong")
    assert _sign_in(client, "correct horse battery staple").status_code == 302


def test_the_token_api_is_locked_out_too(client, person):
    for _ in range(5):
        client.post("/api/v1/auth/token", {"username": "pat", "password": "wrong"})
    response = client.post(
        "/api/v1/auth/token", {"username": "pat", "password": "correct horse battery staple"}
    )
    # axes refuses inside authenticate(), which the API reports as bad credentials: no token.
    assert response.status_code in (401, 403, 429)
    assert "token" not in response.json()


def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(client, person, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]  # a proxy exists, but this client is not it
    for index in range(5):
        client.post(
            "/accounts/login/",
            {"username": "pat", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{index}",
        )
    response = client.post(
        "/accounts/login/",
        {"username": "pat", "password": "correct horse battery staple"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429
