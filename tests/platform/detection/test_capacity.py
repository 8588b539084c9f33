"""A burst of checks cannot fill the disk or starve generation: past the concurrency cap (slots
shared by every process through the cache) or the queue cap, a check is refused at once with a
503 and a clear message, and its upload is not kept."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from detection.capacity import detection_slot
from detection.models import Detection

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    """An empty media store, so what a refused check left behind can be counted."""
    settings.MEDIA_ROOT = tmp_path / "media"


def _post(path):
    with open(path, "rb") as handle:
        return APIClient().post("/api/v1/detections", {"file": handle}, format="multipart")


def _stored_uploads(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_check_past_the_concurrency_cap_is_a_503_that_keeps_nothing(settings, unrelated_image):
    settings.DETECTION_MAX_CONCURRENT = 1
    with detection_slot():  # another check, in this or any other process, holds the only slot
        response = _post(unrelated_image)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "detection_busy"
    assert _stored_uploads(settings) == []
    assert not Detection.objects.exists()
    assert _post(unrelated_image).status_code == 200  # the slot was given back


def test_the_portal_says_the_checks_are_busy(client, settings, unrelated_image):
    settings.DETECTION_MAX_CONCURRENT = 1
    with detection_slot(), open(unrelated_image, "rb") as handle:
        response = client.post("/detect/", {"file": handle})
    assert response.status_code == 503
    assert "Too many checks are running" in response.content.decode()


def test_a_clip_past_the_queue_cap_is_a_503_that_keeps_nothing(settings, long_clip):
    settings.DETECTION_MAX_PENDING = 1
    first = _post(long_clip)
    assert first.status_code == 202  # waits for a worker (none runs in this test)
    second = _post(long_clip)
    assert second.status_code == 503
    assert second.json()["error"]["code"] == "detection_busy"
    assert Detection.objects.count() == 1
    assert len(_stored_uploads(settings)) == 1  # the first clip's, for its worker


def test_a_slot_is_given_back_when_the_check_fails(settings):
    settings.DETECTION_MAX_CONCURRENT = 1
    with pytest.raises(RuntimeError), detection_slot():
        raise RuntimeError("the check failed")
    with detection_slot():
        pass
