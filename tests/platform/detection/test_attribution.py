"""Attribution is never wrong: a record is named only when a manifest or the watermark proves it.

One person's clips from one portrait look alike to PDQ, so fingerprint evidence that fits several
records is reported as ranked candidates, never as the nearest one.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.checks import FingerprintCheck
from detection.presenters import detection_public
from detection.sampling import sample_upload
from detection.selectors import detection_get
from detection.services import detection_run
from detection.verdict import RegistryEntry, decide_verdict
from provenance.attacks import decode_video, encode_h264
from provenance.manifest import ManifestReport
from provenance.media import MediaLimits
from provenance.watermark import WatermarkDetection

pytestmark = pytest.mark.django_db

NOT_IDENTIFIED = WatermarkDetection(False, None, None, 0.55, 1.0, 16, "", None, 1.0)


def test_near_fingerprints_of_several_records_name_none_of_them(platform_output):
    sample = sample_upload(platform_output.path, MediaLimits())
    entries = {r: RegistryEntry(r, "ab" * 8, f"urn:{r}", "0" * 64, 512, 512, 4.0) for r in (5, 6)}
    verdict = decide_verdict(
        upload_sha256="1" * 64,
        sample=sample,
        watermark=NOT_IDENTIFIED,
        manifest=ManifestReport("missing", (), None, (), None, None, None),
        fingerprint=FingerprintCheck(3, 6, ("f" * 64,), candidates=((6, 3), (5, 5))),
        entry_by_record=entries.get,
        entry_by_manifest=lambda manifest_id: None,
    )
    assert verdict.verdict == "altered_copy"
    assert verdict.record_id is None
    assert [c.record_id for c in verdict.candidates] == [6, 5]  # nearest first
    assert "fingerprint" in verdict.evidence


def test_watermark_evidence_ranks_a_candidate_above_a_nearer_fingerprint(platform_output):
    sample = sample_upload(platform_output.path, MediaLimits())
    watermark = WatermarkDetection(
        False,
        None,
        None,
        0.6,
        1.0,
        16,
        "",
        None,
        1.0,
        candidate_matches=((5, 0.8, 1e-7), (6, 0.5, 0.6)),
    )
    verdict = decide_verdict(
        upload_sha256="1" * 64,
        sample=sample,
        watermark=watermark,
        manifest=ManifestReport("missing", (), None, (), None, None, None),
        fingerprint=FingerprintCheck(3, 6, ("f" * 64,), candidates=((6, 3), (5, 5))),
        entry_by_record=lambda r: RegistryEntry(r, "ab" * 8, f"urn:{r}", "0" * 64, 512, 512, 4.0),
        entry_by_manifest=lambda manifest_id: None,
    )
    assert verdict.record_id is None
    assert [c.record_id for c in verdict.candidates] == [5, 6]


def _reupload(path, tmp_path, name, *, scale=1.0, crf=30):
    frames, fps = decode_video(path.read_bytes())
    if scale != 1.0:
        size = (round(frames[0].shape[1] * scale), round(frames[0].shape[0] * scale))
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    out = tmp_path / f"{name}.mp4"
    out.write_bytes(encode_h264(frames, round(fps), crf))
    return out


def _screenshot(path, tmp_path, name, *, quality=None, index=50):
    frames, _ = decode_video(path.read_bytes())
    bgr = cv2.cvtColor(frames[index], cv2.COLOR_RGB2BGR)
    if quality is None:
        out = tmp_path / f"{name}.png"
        cv2.imwrite(str(out), bgr)
    else:
        out = tmp_path / f"{name}.jpg"
        cv2.imwrite(str(out), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return out


COPIES = {
    "half_crf30": lambda p, t: _reupload(p, t, "half_crf30", scale=0.5, crf=30),
    "crf40": lambda p, t: _reupload(p, t, "crf40", crf=40),
    "quarter_crf35": lambda p, t: _reupload(p, t, "quarter", scale=0.25, crf=35),
    "png_frame": lambda p, t: _screenshot(p, t, "png_frame"),
    "jpeg75_frame": lambda p, t: _screenshot(p, t, "jpeg75", quality=75, index=20),
    "jpeg40_frame": lambda p, t: _screenshot(p, t, "jpeg40", quality=40, index=80),
}


@pytest.mark.slow
@pytest.mark.parametrize("copy", sorted(COPIES))
def test_a_copy_of_one_of_several_clips_of_a_person_never_names_another(
    registered_output, registered_siblings, platform_output, tmp_path, copy
):
    """Copies degraded until the watermark cannot prove the record: the answer names the right
    record or none, and then lists the right one among the candidates."""
    siblings = {record.pk for record in registered_siblings}
    result = detection_run(path=COPIES[copy](platform_output.path, tmp_path))
    assert result.verdict in ("platform", "altered_copy"), result.summary
    assert result.record_id not in siblings
    if result.record_id is None:
        candidate_ids = [c["record_id"] for c in result.summary["candidates"]]
        assert registered_output.pk in candidate_ids, result.summary
    else:
        assert result.record_id == registered_output.pk


@pytest.mark.slow
def test_the_public_sees_the_candidates_but_not_whose_likeness(
    registered_output, registered_siblings, platform_output, tmp_path
):
    result = detection_run(path=_screenshot(platform_output.path, tmp_path, "frame"))
    assert result.record_id is None
    stored = result.summary["candidates"]
    assert {c["identity_id"] for c in stored} == {registered_output.identity_id}  # auditors
    public = detection_public(detection_get(detection_id=result.detection_id))
    assert public["candidates"] and all("identity_id" not in c for c in public["candidates"])
    assert {c["record_id"] for c in public["candidates"]} <= {
        registered_output.pk,
        *(r.pk for r in registered_siblings),
    }


def test_an_unrelated_image_has_no_candidates(registered_output, unrelated_image):
    result = detection_run(path=unrelated_image)
    assert result.verdict == "none"
    assert result.summary["candidates"] == []


def test_grey_frames_hash_to_no_candidates():
    grey = np.full((256, 256, 3), 128, np.uint8)
    from detection.checks import fingerprint_check

    assert fingerprint_check([grey], [(1, "0" * 64)]).candidates == ()
