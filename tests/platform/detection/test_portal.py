"""The public verdict page never names the requester; auditors see the full record and its
decision trail; the pages are where the roles can reach them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


def _upload_through_portal(client, path):
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    response = client.post("/detect/", {"file": upload})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


@pytest.mark.slow
def test_the_public_verdict_of_a_platform_output_never_names_the_requester(
    client, registered_output, platform_output
):
    page = client.get(_upload_through_portal(client, platform_output.path)).content.decode()
    assert "Made by this platform" in page
    assert f'<dd id="record-id">{registered_output.pk}</dd>' in page
    assert '<dd id="consent-status">active</dd>' in page
    for private in ("riley", "Riley", "Newsroom", "Eileen Collins", "decision-fixture"):
        assert private not in page


@pytest.mark.slow
def test_an_auditor_sees_the_full_record_and_its_decision_trail(
    client, login, auditor, registered_output, platform_output
):
    location = _upload_through_portal(client, platform_output.path)
    detection_id = location.rstrip("/").rsplit("/", 1)[-1]
    login(client, auditor)
    page = client.get(f"/detect/audit/{detection_id}/").content.decode()
    assert "riley (Riley), Newsroom" in page
    assert "decision-fixture" in page
    assert "job.published" in page
    assert "detection.checked" in page


def test_the_auditor_view_is_for_auditors_only(client, owner, unrelated_image):
    location = _upload_through_portal(client, unrelated_image)
    detection_id = location.rstrip("/").rsplit("/", 1)[-1]
    client.force_login(owner)
    assert client.get(f"/detect/audit/{detection_id}/").status_code == 403


def test_anyone_can_open_the_upload_page(client):
    response = client.get("/detect/")
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


def test_a_verdict_page_of_an_unknown_detection_is_404(client):
    assert client.get("/detect/00000000-0000-4000-8000-000000000000/").status_code == 404
