"""Requester portal pages: dashboard of consenting people, the form, denial reasons shown."""

from __future__ import annotations

import pytest

from jobs.models import GenerationJob


@pytest.fixture
def signed_in(client):
    def _as(user):
        client.force_login(user)
        return client

    return _as


@pytest.mark.django_db
def test_the_dashboard_lists_people_whose_consent_names_the_requester(grant, signed_in, requester):
    page = signed_in(requester).get("/jobs/dashboard/").content.decode()
    assert "Olivia Owner" in page and "news_explainer" in page


@pytest.mark.django_db
def test_the_dashboard_hides_people_whose_consent_names_someone_else(
    grant, signed_in, other_requester
):
    page = signed_in(other_requester).get("/jobs/dashboard/").content.decode()
    assert "Olivia Owner" not in page


@pytest.mark.django_db
def test_a_submitted_form_leads_to_the_job_page(
    grant, signed_in, requester, identity, short_speech_wav
):
    client = signed_in(requester)
    with open(short_speech_wav, "rb") as audio:
        response = client.post(
            "/jobs/new/",
            {
                "identity": identity.pk,
                "purpose": "news_explainer",
                "audio": audio,
                "gaze_x": 0,
                "gaze_y": 0,
                "head_distance": 1.0,
                "emotion": "neutral",
                "seed": 0,
            },
        )
    job = GenerationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert f'data-status-url="/jobs/{job.pk}/status.json"' in page
    status = client.get(f"/jobs/{job.pk}/status.json").json()
    assert status["status"] == "queued"


@pytest.mark.django_db
def test_the_form_shows_the_policys_reasons_when_denied(
    grant, signed_in, requester, identity, short_speech_wav, cameraman_png
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(requester)
    with open(short_speech_wav, "rb") as audio:
        response = client.post(
            "/jobs/new/",
            {
                "identity": identity.pk,
                "purpose": "news_explainer",
                "audio": audio,
                "portrait": SimpleUploadedFile("p.png", cameraman_png, "image/png"),
                "gaze_x": 0,
                "gaze_y": 0,
                "head_distance": 1.0,
                "emotion": "neutral",
                "seed": 0,
            },
        )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="portrait_mismatch"' in page
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_another_requesters_job_page_is_not_found(grant, signed_in, submit, other_requester):
    job = submit()
    assert signed_in(other_requester).get(f"/jobs/{job.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_library_error_shows_as_a_form_error(
    grant, signed_in, requester, identity, astronaut_png
):
    """The generator's own error (not audio) reaches the portal as a message, not a 500."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = signed_in(requester).post(
        "/jobs/new/",
        {
            "identity": identity.pk,
            "purpose": "news_explainer",
            "audio": SimpleUploadedFile("speech.wav", astronaut_png, "audio/wav"),
            "gaze_x": 0,
            "gaze_y": 0,
            "head_distance": 1.0,
            "emotion": "neutral",
            "seed": 0,
        },
    )
    assert response.status_code == 200
    assert not GenerationJob.objects.exists()
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "audio" in errors[0].lower()
