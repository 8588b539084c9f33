"""The checks and the verdict on their own, without the database."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut, coffee

from detection.checks import fingerprint_check
from detection.sampling import sample_upload
from detection.verdict import RegistryEntry, decide_verdict
from provenance.manifest import ManifestReport
from provenance.media import MediaLimits
from provenance.payload import payload_for_record
from provenance.watermark import (
    KnownPayload,
    WatermarkDetection,
    detect_sampled,
    mark_appearance,
    run_middle,
)

RECORD_ID = 4242


def astronaut_square():
    return cv2.resize(astronaut(), (512, 512), interpolation=cv2.INTER_AREA)


def test_a_single_marked_frame_points_at_its_record_but_never_identifies(watermark_key):
    payload = payload_for_record(RECORD_ID, watermark_key)
    # The middle frame of run 2 carries one word: word 2, data word 1 added (the plus side).
    still = mark_appearance(astronaut_square(), payload).for_frame(run_middle(2))
    registered = [
        KnownPayload(RECORD_ID, payload.value_hex),
        KnownPayload(7, "0123456789abcdef"),
    ]
    check = detect_sampled([still], watermark_key, known=registered)
    assert not check.identified
    assert check.partial_record_id == RECORD_ID
    assert check.partial_false_positive <= 1e-6


def test_an_unmarked_image_matches_no_registered_payload(watermark_key):
    registered = [KnownPayload(7, "0123456789abcdef")]
    check = detect_sampled([coffee()], watermark_key, known=registered)
    assert not check.identified
    assert check.partial_record_id is None


def test_flat_frames_give_no_fingerprint_to_match():
    grey = np.full((256, 256, 3), 128, np.uint8)
    check = fingerprint_check([grey], [(1, "0" * 64)])
    assert check.distance is None
    assert check.record_id is None


def test_the_nearest_fingerprint_names_its_record(platform_output):
    sample = sample_upload(platform_output.path, MediaLimits())
    registered = [(9, "f" * 64)] + [
        (platform_output.record_id, h) for h in platform_output.published.fingerprints
    ]
    check = fingerprint_check(sample.fingerprint_frames, registered)
    assert check.record_id == platform_output.record_id
    assert check.distance <= 4


@pytest.mark.parametrize("kind,expected", [("video", "platform"), ("image", "altered_copy")])
def test_an_identified_watermark_is_platform_only_in_a_video(platform_output, kind, expected):
    from detection.checks import FingerprintCheck

    sample = sample_upload(platform_output.path, MediaLimits())
    sample = type(sample)(**{**sample.__dict__, "kind": kind})
    watermark = WatermarkDetection(True, 5, "ab" * 8, 1.0, 1e-12, 10, "decoded", None, 1.0)
    entry = RegistryEntry(5, "ab" * 8, "urn:x", "0" * 64, 512, 512, 4.0)
    verdict = decide_verdict(
        upload_sha256="1" * 64,
        sample=sample,
        watermark=watermark,
        manifest=ManifestReport("missing", (), None, (), None, None, None),
        fingerprint=FingerprintCheck(None, None, ()),
        entry_by_record=lambda record_id: entry if record_id == 5 else None,
        entry_by_manifest=lambda manifest_id: None,
    )
    assert verdict.verdict == expected
    assert verdict.record_id == 5
    assert "The C2PA manifest was removed." in verdict.differences
