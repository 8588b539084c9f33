"""Speech too short to carry the output's watermark is refused at submission, by the policy, with
a clear reason in the portal and the API, and leaves no stored input behind."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from jobs.models import GenerationJob


@pytest.fixture
def one_second_wav(tmp_path) -> Path:
    """1.0 s of a 220 Hz tone: readable audio, shorter than the 1.36 s a job can publish."""
    rate = 16000
    samples = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate) * 32767).astype(np.int16)
    path = tmp_path / "one-second.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return path


def _stored_inputs() -> list:
    folder = Path(settings.MEDIA_ROOT) / "job-inputs"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db
def test_the_api_refuses_audio_shorter_than_the_minimum_clip(
    grant, requester, identity, one_second_wav
):
    client = APIClient()
    client.force_authenticate(requester)
    with open(one_second_wav, "rb") as audio:
        response = client.post(
            "/api/v1/jobs/create",
            {"identity": identity.pk, "purpose": "news_explainer", "audio": audio},
            format="multipart",
        )
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert [reason["code"] for reason in error["reasons"]] == ["audio_too_short"]
    assert "at least 1.36 s" in error["reasons"][0]["message"]
    assert not GenerationJob.objects.exists()
    assert _stored_inputs() == []


@pytest.mark.django_db
def test_the_portal_form_shows_why_short_audio_is_refused(
    grant, client, requester, identity, one_second_wav
):
    client.force_login(requester)
    with open(one_second_wav, "rb") as audio:
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
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-code="audio_too_short"' in page
    assert "clips must be at least 1.36 s long" in page
    assert not GenerationJob.objects.exists()
    assert _stored_inputs() == []
