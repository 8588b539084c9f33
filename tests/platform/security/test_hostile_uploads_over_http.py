"""Hostile files posted to the public detection endpoint: 4xx with the error body, never 5xx,
and whatever the client names the file, nothing is stored under that name or outside MEDIA_ROOT.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from test_upload_parser_fuzzing import HOSTILE

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TRAVERSAL_NAMES = ["../../../../etc/passwd", "..\\..\\boot.ini", "/tmp/evil.png", "a\x00b.png"]


@pytest.fixture(autouse=True)
def _no_detection_throttle():
    """Lift the detection and anonymous rates for these tests only, then put the very same
    rates object back."""
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "detection": None, "anon": None}
    yield
    SimpleRateThrottle.THROTTLE_RATES = original


@pytest.mark.parametrize("payload", [p for p in HOSTILE if p], ids=range(len(HOSTILE) - 1))
def test_a_hostile_file_is_a_4xx_with_an_error_body(client, payload):
    upload = SimpleUploadedFile("photo.png", payload, content_type="image/png")
    response = client.post("/api/v1/detections", {"file": upload})
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("name", TRAVERSAL_NAMES)
def test_no_client_file_name_reaches_the_disk(client, settings, name):
    from test_upload_parser_fuzzing import SEEDS

    upload = SimpleUploadedFile(name, SEEDS["png"], content_type="image/png")
    response = client.post("/api/v1/detections", {"file": upload})
    assert response.status_code < 500
    media_root = settings.MEDIA_ROOT
    stored = [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []
    leaf = name.replace("\\", "/").split("/")[-1]
    assert not [p for p in stored if p.name in (leaf, "passwd", "boot.ini", "evil.png")]
    assert all(p.resolve().is_relative_to(media_root.resolve()) for p in stored)
