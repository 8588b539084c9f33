"""The API answers every error as {"error": {"code", "message"}}."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_bad_sign_up_input_is_a_json_error(client):
    response = client.post("/api/v1/accounts", {"username": "x"}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and "password" in body["message"]


def test_malformed_json_is_a_json_error(client):
    response = client.post("/api/v1/accounts", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_tokens_are_only_for_approved_requesters(client, requester, unapproved_requester):
    refused = client.post(
        "/api/v1/auth/token",
        {"username": "uma", "password": "correct horse battery staple"},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_approved"
    issued = client.post(
        "/api/v1/auth/token",
        {"username": "riley", "password": "correct horse battery staple"},
        content_type="application/json",
    )
    assert issued.status_code == 201
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert me.json()["approved_requester"] is True


def test_wrong_credentials_are_a_json_401(client, requester):
    response = client.post(
        "/api/v1/auth/token",
        {"username": "riley", "password": "wrong"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
