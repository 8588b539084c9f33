"""API tokens are hashed at rest, expire, can be revoked, and the admin never shows one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone
from knox.models import AuthToken

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _issue(client, username: str = "riley") -> str:
    response = client.post(
        "/api/v1/auth/token",
        {"username": username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _me(client, token: str):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")


def _rows_holding(text: str) -> list[str]:
    """Every text column of every table that contains `text` (a leaked token)."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                if model._default_manager.filter(**{f"{field.name}__contains": text}).exists():
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def test_an_issued_token_is_stored_only_as_a_hash(client, requester):
    token = _issue(client)
    assert _me(client, token).status_code == 200
    assert _rows_holding(token) == []


def test_an_issued_token_expires(client, requester):
    token = _issue(client)
    row = AuthToken.objects.get(user=requester)
    assert row.expiry is not None and row.expiry > timezone.now()
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert _me(client, token).status_code == 401


def test_signing_out_revokes_only_that_token_and_is_audited(client, requester):
    first, second = _issue(client), _issue(client)
    response = client.post("/api/v1/auth/token/logout", HTTP_AUTHORIZATION=f"Token {first}")
    assert response.status_code == 204
    assert _me(client, first).status_code == 401
    assert _me(client, second).status_code == 200
    assert AuditEvent.objects.filter(action="api.token_revoked", actor_id=requester.pk).exists()


def test_signing_out_everywhere_revokes_every_token(client, requester):
    first, second = _issue(client), _issue(client)
    response = client.post("/api/v1/auth/token/logout-all", HTTP_AUTHORIZATION=f"Token {second}")
    assert response.status_code == 204
    assert _me(client, first).status_code == 401 and _me(client, second).status_code == 401
    event = AuditEvent.objects.get(action="api.tokens_revoked_all")
    assert event.details["count"] == 2


def test_issuing_a_token_is_audited_without_the_token(client, requester):
    token = _issue(client)
    event = AuditEvent.objects.get(action="api.token_issued", actor_id=requester.pk)
    assert token not in str(event.details) and event.details["expiry"]


def test_a_token_header_with_a_non_utf8_byte_is_a_json_401(client, requester):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION="Token caf\xe9")
    assert response.status_code == 401 and response.json()["error"]["code"]


def test_the_admin_never_shows_a_usable_token(client, requester, admin_user, login):
    token = _issue(client)
    login(client, admin_user)
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200 and requester.username in listing.content.decode()
    row = AuthToken.objects.get(user=requester)
    detail = client.get(f"/admin/knox/authtoken/{row.pk}/change/")
    assert detail.status_code == 200
    for page in (listing, detail):
        assert token not in page.content.decode() and row.token_key not in page.content.decode()
    # No minting a token for someone else from the admin (knox's own admin shows it once).
    assert client.get("/admin/knox/authtoken/add/").status_code == 403


def test_revoking_a_token_in_the_admin_is_audited(client, requester, admin_user, login):
    token = _issue(client)
    login(client, admin_user)
    row = AuthToken.objects.get(user=requester)
    response = client.post(f"/admin/knox/authtoken/{row.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert _me(client, token).status_code == 401
    assert AuditEvent.objects.filter(action="api.token_revoked", actor_id=admin_user.pk).exists()
