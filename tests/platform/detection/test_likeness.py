"""A protected person's face in content without platform provenance alerts that person's owner in
the portal and is shown to auditors as a possible unauthorised likeness, never to the public."""

from __future__ import annotations

import json

import pytest

from detection.models import LikenessAlert
from detection.services import detection_run

pytestmark = pytest.mark.django_db


def test_it_warns_of_a_protected_likeness_without_provenance(protected_identity, astronaut_photo):
    result = detection_run(path=astronaut_photo)
    assert result.verdict == "none"
    assert result.protected_identity == protected_identity.pk
    assert result.summary["likeness"]["warning"] is True
    assert result.summary["likeness"]["checked"] is True


def test_a_proven_output_is_not_face_checked(registered_output, platform_output):
    """Its record already names whose likeness it shows, and no alert could follow: the face
    check (the dearest part of a clip's check after the watermark) is not run."""
    result = detection_run(path=platform_output.path)
    assert result.verdict == "platform"
    assert result.summary["likeness"] == {
        "checked": False,
        "faces": 0,
        "protected_identity": None,
        "distance": None,
        "warning": False,
    }
    assert result.protected_identity is None
    assert not LikenessAlert.objects.exists()


def test_it_alerts_the_owner_of_the_protected_identity(protected_identity, astronaut_photo, owner):
    result = detection_run(path=astronaut_photo)
    alert = LikenessAlert.objects.get(detection_id=result.detection_id)
    assert alert.owner == owner
    assert alert.identity == protected_identity
    assert alert.distance < 0.6


def test_it_does_not_warn_when_protection_is_off(protected_identity, astronaut_photo):
    protected_identity.likeness_protection = False
    protected_identity.save()
    result = detection_run(path=astronaut_photo)
    assert result.protected_identity is None
    assert result.summary["likeness"]["warning"] is False
    assert not LikenessAlert.objects.exists()


def test_it_does_not_warn_about_an_unrelated_face_free_image(protected_identity, unrelated_image):
    result = detection_run(path=unrelated_image)
    assert result.protected_identity is None
    assert not LikenessAlert.objects.exists()


def test_the_owner_sees_the_alert_in_the_portal(client, owner, protected_identity, astronaut_photo):
    detection_run(path=astronaut_photo)
    client.force_login(owner)
    response = client.get("/detect/alerts/")
    assert response.status_code == 200
    assert b"Eileen Collins" in response.content
    assert b"new" in response.content


def test_an_anonymous_check_does_not_reveal_that_a_face_is_protected(
    client, protected_identity, astronaut_photo
):
    """Otherwise anyone could upload photos and learn whose face is enrolled (an oracle)."""
    with open(astronaut_photo, "rb") as handle:
        response = client.post("/api/v1/detections", {"file": handle})
    assert response.status_code == 200
    body = response.json()
    assert LikenessAlert.objects.filter(detection_id=body["id"]).exists()  # the owner is told
    assert "likeness" not in json.dumps(body)
    assert "likeness" not in json.dumps(client.get(body["poll_url"]).json())
    page = client.get(body["page_url"]).content.decode()
    assert "likeness" not in page and "Eileen Collins" not in page


def test_auditors_see_the_protected_likeness_warning(
    client, login, auditor, protected_identity, astronaut_photo
):
    result = detection_run(path=astronaut_photo)
    login(client, auditor)
    page = client.get(f"/detect/audit/{result.detection_id}/").content.decode()
    assert "may be an unauthorised use of their likeness" in page
