"""The generation API: token auth, 202 + URL on create, policy reasons on deny, own jobs only."""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from jobs.models import GenerationJob


def _client(user) -> APIClient:
    client = APIClient()
    # Made directly, not issued: the unapproved requester must be refused by the API itself.
    _, token = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _form(identity, audio_path, **extra) -> dict:
    data = {
        "identity": identity.pk,
        "purpose": "news_explainer",
        "audio": open(audio_path, "rb"),  # noqa: SIM115 - the test client reads and closes it
        "emotion": "neutral",
        "seed": 3,
    }
    data.update(extra)
    return data


@pytest.mark.django_db
def test_create_answers_202_with_the_jobs_url(grant, requester, identity, short_speech_wav):
    response = _client(requester).post(
        "/api/v1/jobs/create", _form(identity, short_speech_wav), format="multipart"
    )
    assert response.status_code == 202, response.content
    job = GenerationJob.objects.get()
    assert response.json()["url"].endswith(f"/api/v1/jobs/{job.pk}")
    assert response["Location"] == response.json()["url"]
    status = _client(requester).get(f"/api/v1/jobs/{job.pk}").json()
    assert (status["status"], status["stage"], status["percent"]) == ("queued", "queued", 0)


@pytest.mark.django_db
def test_a_denied_create_answers_403_with_the_reasons(
    grant, other_requester, identity, short_speech_wav
):
    response = _client(other_requester).post(
        "/api/v1/jobs/create", _form(identity, short_speech_wav), format="multipart"
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "policy_denied"
    assert "no_consent" in [reason["code"] for reason in error["reasons"]]


@pytest.mark.django_db
def test_an_unapproved_requester_gets_a_json_403(unapproved_requester):
    response = _client(unapproved_requester).get("/api/v1/jobs")
    assert response.status_code == 403
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.django_db
def test_a_requester_cannot_see_another_requesters_job(
    grant, requester, other_requester, identity, short_speech_wav
):
    _client(requester).post(
        "/api/v1/jobs/create", _form(identity, short_speech_wav), format="multipart"
    )
    job = GenerationJob.objects.get()
    assert _client(other_requester).get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert _client(other_requester).get("/api/v1/jobs").json() == []


def test_the_jobs_endpoints_are_in_a_valid_openapi_schema():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert {"/api/v1/jobs", "/api/v1/jobs/create", "/api/v1/jobs/{id}"} <= set(schema["paths"])
    assert "202" in schema["paths"]["/api/v1/jobs/create"]["post"]["responses"]
