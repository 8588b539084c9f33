"""The evidence page: the uploaded frame beside the matched registry frame (or why none), the
watermark's agreement timeline, the bound in words and the C2PA state with its failing codes;
auditors also see whose likeness each candidate shows; the API returns the same data."""

from __future__ import annotations

import re

import cv2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from detection.models import Detection, DetectionStatus, VerdictChoice
from detection.presenters import bound_in_words, detection_public
from provenance.attacks import decode_video

pytestmark = pytest.mark.django_db


def _check(client, path) -> tuple[str, str]:
    """Upload through the portal; the verdict page's location and the detection id."""
    response = client.post("/detect/", {"file": SimpleUploadedFile(path.name, path.read_bytes())})
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    return location, location.rstrip("/").rsplit("/", 1)[-1]


def test_the_bound_is_said_in_words():
    assert bound_in_words(3.2e-13, True) == "About 1 in 10^12 that an unmarked clip gives this."
    assert bound_in_words(4e-7, False) == (
        "About 1 in 10^6 that an unmarked clip gives this: not enough to name a record "
        "(that needs 1 in 10^9)."
    )
    assert "no evidence" in bound_in_words(0.3, False)
    assert "no evidence" in bound_in_words(None, False)


@pytest.mark.slow
def test_a_platform_output_shows_its_frame_beside_the_registry_frame_and_a_timeline(
    client, registered_output, platform_output
):
    location, detection_id = _check(client, platform_output.path)
    page = client.get(location).content.decode()
    frames = re.search(r'<dd id="evidence-frames">(.*?)</dd>', page, re.S).group(1)
    assert frames.count('<img src="data:image/jpeg;base64,') == 2
    assert f"Record {registered_output.pk} at " in frames and "first-ranked" not in frames
    bars = re.search(r'<figure id="watermark-timeline">(.*?)</figure>', page, re.S).group(1)
    public = detection_public(Detection.objects.get(pk=detection_id))
    timeline = public["watermark"]["timeline"]
    assert bars.count("<rect ") == len(timeline) == public["watermark"]["frames_used"] >= 6
    assert all(point["agreement"] > 0.75 for point in timeline)  # a marked clip, intact
    assert re.search(r"About 1 in 10\^\d+ that an unmarked clip gives this\.", page)
    assert "trusted: A valid manifest signed by this platform." in page


@pytest.mark.slow
def test_the_api_returns_the_evidence_the_page_shows(client, registered_output, platform_output):
    _, detection_id = _check(client, platform_output.path)
    answer = client.get(f"/api/v1/detections/{detection_id}").json()
    assert answer["verdict"] == "platform"  # existing keys and verdict names kept
    watermark = answer["watermark"]
    assert watermark["identified"] and watermark["reading"] == "straight"
    assert watermark["bound_text"].endswith("that an unmarked clip gives this.")
    assert [p["frame"] for p in watermark["timeline"]] == sorted(
        p["frame"] for p in watermark["timeline"]
    )
    frames = answer["evidence_frames"]
    assert frames["upload"]["image"].startswith("data:image/jpeg;base64,")
    assert frames["registry"]["record_id"] == registered_output.pk and frames["registry"]["proven"]
    assert frames["registry"]["pdq_distance"] <= 8  # the same frame, re-read
    assert answer["c2pa"]["state"] == "trusted" and answer["c2pa"]["codes"] == []


def test_unrelated_media_says_why_there_is_no_registry_frame(client, unrelated_image):
    location, _ = _check(client, unrelated_image)
    page = client.get(location).content.decode()
    assert "No platform record matched, so there is no registry frame to compare." in page
    frames = re.search(r'<dd id="evidence-frames">(.*?)</dd>', page, re.S).group(1)
    assert frames.count("<img ") == 1  # the upload only
    assert "no evidence of a platform mark" in page


@pytest.mark.slow
def test_a_deleted_output_says_its_frame_is_gone(client, registered_output, platform_output):
    from django.utils import timezone

    registered_output.media_deleted_at = timezone.now()
    registered_output.save()
    location, _ = _check(client, platform_output.path)
    page = client.get(location).content.decode()
    assert "The published file was deleted with the person&#x27;s data" in page


def test_a_tampered_manifest_lists_its_failing_codes(client):
    codes = ["assertion.dataHash.mismatch", "claimSignature.mismatch"]
    detection = Detection.objects.create(
        status=DetectionStatus.DONE,
        upload_sha256="2" * 64,
        media_kind="video",
        verdict=VerdictChoice.NONE,
        summary={"c2pa": {"state": "tampered", "codes": codes}, "watermark": {}},
    )
    page = client.get(f"/detect/{detection.pk}/").content.decode()
    listed = re.search(r'<ul id="c2pa-codes">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<code>(.*?)</code>", listed) == codes
    assert "no longer matches the content" in page


@pytest.mark.slow
def test_auditors_see_whose_likeness_each_ranked_candidate_shows(
    client, login, auditor, registered_output, registered_siblings, platform_output, tmp_path
):
    frames, _ = decode_video(platform_output.path.read_bytes())
    still = tmp_path / "frame.jpg"
    cv2.imwrite(
        str(still), cv2.cvtColor(frames[50], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75]
    )
    location, detection_id = _check(client, still)
    public_page = client.get(location).content.decode()
    assert '<dd id="candidates">' in public_page and "likeness of identity" not in public_page
    assert "first-ranked candidate" in public_page  # a still never proves its record
    login(client, auditor)
    page = client.get(f"/detect/audit/{detection_id}/").content.decode()
    ranked = re.search(r'<dd id="candidates">(.*?)</dd>', page, re.S).group(1)
    assert f"likeness of identity {registered_output.identity_id}" in ranked
    siblings = {r.pk for r in registered_siblings} | {registered_output.pk}
    assert {int(r) for r in re.findall(r"<li>record (\d+)", ranked)} <= siblings
