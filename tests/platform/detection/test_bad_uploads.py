"""Corrupt, truncated, empty, mislabelled or missing uploads get 400 with a clear JSON message,
never a 500, and leave nothing behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from detection.models import Detection

pytestmark = pytest.mark.django_db


def _post(name: str, data: bytes):
    upload = SimpleUploadedFile(name, data, content_type="video/mp4")
    return APIClient().post("/api/v1/detections", {"file": upload}, format="multipart")


def _assert_clear_400(response, code: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and "\n" not in error["message"]


def test_it_refuses_a_zero_length_file():
    _assert_clear_400(_post("clip.mp4", b""), "empty_media")


def test_it_refuses_a_truncated_video(unrelated_clip):
    data = unrelated_clip.read_bytes()
    _assert_clear_400(_post("clip.mp4", data[: len(data) // 2]), "truncated_media")


def test_it_refuses_a_corrupt_video():
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40
    _assert_clear_400(_post("clip.mp4", data), "invalid_media")


def test_it_refuses_a_mislabelled_file():
    _assert_clear_400(_post("clip.mp4", b"%PDF-1.7\n" + b"0" * 4000), "invalid_media")


def test_it_refuses_a_truncated_image(unrelated_image):
    data = unrelated_image.read_bytes()
    _assert_clear_400(_post("photo.png", data[: len(data) // 3]), "invalid_media")


def test_it_refuses_a_request_without_a_file():
    response = APIClient().post("/api/v1/detections", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_it_judges_a_file_by_its_bytes_not_its_name(unrelated_image):
    response = _post("definitely-a-video.mp4", unrelated_image.read_bytes())
    assert response.status_code == 200
    assert response.json()["media"]["kind"] == "image"


def test_it_records_nothing_and_keeps_no_file_for_a_bad_upload(settings):
    _post("clip.mp4", b"not a video at all, just text")
    assert Detection.objects.count() == 0
    uploads = settings.MEDIA_ROOT / "detection"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_the_portal_form_answers_400_with_the_reason(client):
    upload = SimpleUploadedFile("clip.mp4", b"%PDF-1.7\n" + b"0" * 100)
    response = client.post("/detect/", {"file": upload})
    assert response.status_code == 400
    assert b"not a supported image or video" in response.content


def test_the_portal_form_is_rate_limited(client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # monkeypatch restores the class attribute exactly (a plain re-assignment would leave a copy
    # on the subclass and shadow later patches of SimpleRateThrottle in other tests).
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {**SimpleRateThrottle.THROTTLE_RATES, "detection": "2/min"},
    )
    statuses = [
        client.post("/detect/", {"file": SimpleUploadedFile("x.mp4", b"junk")}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_it_refuses_a_declared_oversize_upload_before_reading_it(settings, unrelated_image):
    settings.DETECTION_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.png", unrelated_image.read_bytes() * 20)
    response = APIClient().post("/api/v1/detections", {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "media_too_large"


def test_it_stops_copying_an_upload_at_the_byte_cap(settings, unrelated_image):
    settings.DETECTION_MAX_BYTES = 1000
    response = _post("photo.png", unrelated_image.read_bytes()[:5000])
    _assert_clear_400(response, "media_too_large")
    assert not any((settings.MEDIA_ROOT / "detection").iterdir())


def test_it_refuses_a_clip_over_the_duration_cap(settings, unrelated_clip):
    settings.DETECTION_MAX_SECONDS = 1.0
    _assert_clear_400(_post("clip.mp4", unrelated_clip.read_bytes()), "media_too_long")


def test_it_refuses_an_image_over_the_pixel_cap(settings, unrelated_image):
    settings.DETECTION_MAX_PIXELS = 100 * 100
    _assert_clear_400(_post("photo.png", unrelated_image.read_bytes()), "media_too_large")
