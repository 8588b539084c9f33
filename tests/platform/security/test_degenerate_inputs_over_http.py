"""Inputs an outside probe turned into 500s: degenerate portraits (which dlib's filters cannot
scan), ids beyond the database's integers, and JSON nested past Python's recursion limit. Each is
a 400 with the `{"error": {"code", "message"}}` body (or a form error), and leaves no file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from test_upload_parser_fuzzing import SEEDS

pytestmark = pytest.mark.django_db

# (width, height): 1x1 and 16000x2 are the probe's; 80x16000 passes any minimum-side check
# alone but is scanned on a 5-px-wide copy (face detection scales the long side to 1024).
DEGENERATE_SIZES = [(1, 1), (16000, 2), (2, 16000), (16000, 80)]


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _files_under(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _assert_error_body(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:300]
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.fixture
def identity_of(owner):
    from consent.services import identity_create

    return identity_create(owner=owner, display_name="Olivia")


@pytest.mark.parametrize(("width", "height"), DEGENERATE_SIZES)
def test_a_degenerate_job_portrait_is_a_400_and_leaves_no_file(
    client, login, requester, identity_of, settings, width, height
):
    login(client, requester)
    before = _files_under(settings.MEDIA_ROOT / "job-inputs")
    response = client.post(
        "/api/v1/jobs/create",
        {
            "identity": identity_of.pk,
            "purpose": "education",
            "audio": SimpleUploadedFile("speech.wav", SEEDS["wav"], content_type="audio/wav"),
            "portrait": SimpleUploadedFile("p.png", _png(width, height), content_type="image/png"),
        },
    )
    assert _assert_error_body(response)["code"] == "portrait_shape"
    assert _files_under(settings.MEDIA_ROOT / "job-inputs") == before


@pytest.mark.parametrize(("width", "height"), DEGENERATE_SIZES)
def test_a_degenerate_reference_portrait_is_a_400_and_leaves_no_file(
    client, login, owner, identity_of, settings, width, height
):
    login(client, owner)
    before = _files_under(settings.MEDIA_ROOT)  # session fixtures may have written outputs
    upload = SimpleUploadedFile("p.png", _png(width, height), content_type="image/png")
    response = client.post(f"/api/v1/identities/{identity_of.pk}/portraits", {"portrait": upload})
    assert _assert_error_body(response)["code"] == "portrait_shape"
    assert _files_under(settings.MEDIA_ROOT) == before


def test_a_degenerate_portrait_in_the_portal_is_a_form_error(client, login, owner, identity_of):
    login(client, owner)
    upload = SimpleUploadedFile("p.png", _png(16000, 2), content_type="image/png")
    response = client.post(
        f"/consent/identities/{identity_of.pk}/portraits/", {"portrait": upload}, follow=True
    )
    assert response.status_code == 200
    assert "too narrow" in response.content.decode()
    assert not identity_of.portraits.exists()


def test_a_requester_id_beyond_the_database_integers_is_a_400(client, login, owner, identity_of):
    """Grants name parties by handle now; an id of any size is a clear 400, never a 500."""
    login(client, owner)
    response = client.post(
        f"/api/v1/identities/{identity_of.pk}/consents",
        {
            "requester_ids": [2**70],
            "purposes": ["education"],
            "max_clip_seconds": 30,
            "allowed_emotions": ["neutral"],
        },
        content_type="application/json",
    )
    assert "not ids" in _assert_error_body(response)["message"]


def test_an_identity_id_beyond_the_database_integers_is_not_a_500(client, login, requester):
    login(client, requester)
    response = client.post(
        "/api/v1/jobs/create",
        {
            "identity": 2**70,
            "purpose": "education",
            "audio": SimpleUploadedFile("speech.wav", SEEDS["wav"], content_type="audio/wav"),
        },
    )
    assert response.status_code in (400, 404)
    _assert_error_body(response, response.status_code)


def test_json_nested_past_the_recursion_limit_is_a_400(client):
    response = client.post("/api/v1/accounts", "[" * 50_000, content_type="application/json")
    assert _assert_error_body(response)["code"] == "parse_error"


@pytest.mark.parametrize(("width", "height"), DEGENERATE_SIZES)
def test_the_likeness_check_finds_no_face_in_a_degenerate_frame(width, height):
    from detection.checks import likeness_check

    protected = [(1, np.zeros(128, dtype=np.float32))]
    frame = np.full((height, width, 3), 128, dtype=np.uint8)
    assert likeness_check(frame, protected).faces == 0
