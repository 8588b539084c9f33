"""The detection API: synchronous and asynchronous checks, reading results, and the C2PA Soft
Binding Resolution style lookups."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.models import AuditEvent
from detection.models import Detection

pytestmark = pytest.mark.django_db


def _upload(path, name=None, content_type="application/octet-stream"):
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def test_it_answers_an_image_check_at_once_with_the_verdict(unrelated_image):
    response = APIClient().post(
        "/api/v1/detections", {"file": _upload(unrelated_image)}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "done"
    assert body["verdict"] == "none"
    assert body["record"] is None
    assert body["poll_url"] == f"/api/v1/detections/{body['id']}"


def test_it_reads_back_a_detection_by_its_id(unrelated_image):
    client = APIClient()
    created = client.post(
        "/api/v1/detections", {"file": _upload(unrelated_image)}, format="multipart"
    ).json()
    response = client.get(created["poll_url"])
    assert response.status_code == 200
    assert response.json()["verdict"] == "none"
    assert response.json()["upload_sha256"] == created["upload_sha256"]


def test_it_answers_404_for_an_unknown_detection():
    response = APIClient().get("/api/v1/detections/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_keeps_only_the_hash_and_audits_the_check(unrelated_image, settings):
    body = (
        APIClient()
        .post("/api/v1/detections", {"file": _upload(unrelated_image)}, format="multipart")
        .json()
    )
    detection = Detection.objects.get(pk=body["id"])
    event = AuditEvent.objects.get(action="detection.checked", subject_id=str(detection.pk))
    assert event.details == {
        "upload_sha256": detection.upload_sha256,
        "verdict": "none",
        "record_id": None,
    }
    uploads = settings.MEDIA_ROOT / "detection"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_it_checks_a_long_clip_in_a_worker_and_answers_202_with_a_poll_url(
    long_clip, django_capture_on_commit_callbacks, monkeypatch
):
    from config.celery_app import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    client = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/detections", {"file": _upload(long_clip)}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    assert response["Location"] == response.json()["poll_url"]
    polled = client.get(response["Location"]).json()
    assert polled["status"] == "done"
    assert polled["verdict"] == "none"
    assert Detection.objects.get(pk=polled["id"]).pending_file == ""


def test_it_resolves_a_watermark_soft_binding_to_the_manifest(registered_output):
    from provenance.watermark import WATERMARK_ALGORITHM

    response = APIClient().get(
        "/api/v1/matches/byBinding",
        {"alg": WATERMARK_ALGORITHM, "value": registered_output.payload_hex},
    )
    assert response.status_code == 200
    assert response.json() == {"matches": [{"manifestId": registered_output.manifest_id}]}


def test_it_resolves_a_pdq_soft_binding_to_the_manifest(registered_output):
    response = APIClient().get(
        "/api/v1/matches/byBinding", {"alg": "pdq", "value": registered_output.fingerprints[1]}
    )
    (match,) = response.json()["matches"]
    assert match["manifestId"] == registered_output.manifest_id
    assert match["similarityScore"] == 100


def test_it_refuses_a_malformed_pdq_hash_even_with_nothing_registered():
    response = APIClient().get("/api/v1/matches/byBinding", {"alg": "pdq", "value": "abc"})
    assert response.status_code == 400
    assert "64 hex" in response.json()["error"]["message"]


def test_it_finds_no_match_for_an_unknown_binding(registered_output):
    from provenance.watermark import WATERMARK_ALGORITHM

    response = APIClient().get(
        "/api/v1/matches/byBinding", {"alg": WATERMARK_ALGORITHM, "value": "0" * 16}
    )
    assert response.json() == {"matches": []}


def test_it_refuses_an_unknown_binding_algorithm():
    response = APIClient().get("/api/v1/matches/byBinding", {"alg": "md5", "value": "ab"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_algorithm"


def test_it_serves_the_manifest_of_a_published_output(registered_output):
    response = APIClient().get(f"/api/v1/manifests/{registered_output.manifest_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "trusted"
    assert body["recordId"] == registered_output.pk
    assert body["consentStatus"] == "active"
    assert "c2pa.created" in body["actions"]


@pytest.mark.slow
def test_it_matches_content_to_the_manifest_it_came_from(registered_output, attacked_copies):
    response = APIClient().post(
        "/api/v1/matches/byContent",
        {"file": _upload(attacked_copies["bright20"])},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["matches"][0]["manifestId"] == registered_output.manifest_id
