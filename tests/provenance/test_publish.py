"""publish(): one streaming pass to a watermarked, signed MP4, or nothing at all on any failure."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from provenance.c2pa_ca import SigningIdentity
from provenance.errors import MediaError, SigningError, WatermarkError
from provenance.manifest import Ingredient, ManifestInfo, read_manifest
from provenance.media import iter_video_frames, probe
from provenance.payload import WatermarkPayload, payload_for_record
from provenance.publish import min_publish_frames, publish
from provenance.watermark import (
    WATERMARK_ALGORITHM,
    MarkedAppearance,
    detect_watermark,
    mark_appearance,
)
from tests.provenance import conftest_media as media_fixtures
from tests.provenance.conftest_media import portrait, tone
from tests.toy_renderer import head_motion

# Fixtures shared with test_media.py and test_c2pa.py (conftest.py is the watermark tests').
platform_identity = media_fixtures.platform_identity
other_identity = media_fixtures.other_identity

KEY = b"publish-test-watermark-key-0001!"
RECORD_ID = 4217
SIDE = 512  # the platform's output size; the mark is tuned for it
INFO = ManifestInfo(
    title="talking-face.mp4",
    record_id=RECORD_ID,
    consent_receipt_id="receipt-9f2c",
    decision_id="decision-77a1",
    generator_version="vasa-lite 0.1.0",
    ingredients=(Ingredient("portrait.png", "ab" * 32, "image/png"),),
)


@pytest.fixture(scope="module")
def payload() -> WatermarkPayload:
    return payload_for_record(RECORD_ID, KEY)


@pytest.fixture(scope="module")
def appearance(payload: WatermarkPayload) -> MarkedAppearance:
    """The portrait marked once per payload word, as the generator renders from it."""
    return mark_appearance(portrait(SIDE), payload)


def rendered(appearance: MarkedAppearance, count: int) -> Iterator[np.ndarray]:
    """Frames rendered from the marked appearance, one at a time."""
    return head_motion(appearance.for_frame, count)


def unmarked(count: int) -> Iterator[np.ndarray]:
    base = portrait(SIDE)
    return head_motion(lambda index: base, count)


def _publish(frames, payload, out: Path, identity: SigningIdentity, **kwargs):
    return publish(
        frames, tone(3.0), payload, INFO, out, signer=identity, watermark_key=KEY, **kwargs
    )


@pytest.mark.slow
def test_it_publishes_a_signed_video_that_identifies_its_record(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.mp4"
    record = _publish(rendered(appearance, 60), payload, out, platform_identity)

    assert list(tmp_path.iterdir()) == [out]  # no temporary file left beside it
    assert record.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (record.frames, record.duration_s, record.payload_hex) == (60, 2.4, payload.value_hex)
    assert len(record.fingerprints) == 3 and all(len(h) == 64 for h in record.fingerprints)
    info = probe(out)
    assert (info.frame_count, info.has_audio) == (60, True)

    report = read_manifest(out, platform_identity.root_pem)
    assert report.state == "trusted" and report.manifest_id == record.manifest_id
    assert report.soft_binding == {"alg": WATERMARK_ALGORITHM, "value": payload.value_hex}
    assert report.platform is not None and report.platform["record_id"] == str(RECORD_ID)

    detection = detect_watermark(list(iter_video_frames(out)), KEY)
    assert detection.identified and detection.record_id == RECORD_ID


def test_it_reports_progress_after_every_frame(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    seen: list[int] = []
    _publish(
        rendered(appearance, 40), payload, tmp_path / "o.mp4", platform_identity,
        on_frame=seen.append,
    )  # fmt: skip
    assert seen == list(range(1, 41))


def test_it_refuses_unmarked_frames_before_asking_to_sign(
    payload: WatermarkPayload, platform_identity: SigningIdentity, tmp_path: Path
) -> None:
    asked: list[bool] = []
    with pytest.raises(WatermarkError):
        _publish(
            unmarked(40), payload, tmp_path / "o.mp4", platform_identity,
            before_sign=lambda: asked.append(True),
        )  # fmt: skip
    assert asked == []
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_frames_marked_for_another_record(
    appearance: MarkedAppearance, platform_identity: SigningIdentity, tmp_path: Path
) -> None:
    other_payload = payload_for_record(RECORD_ID + 1, KEY)
    with pytest.raises(WatermarkError):
        _publish(rendered(appearance, 40), other_payload, tmp_path / "o.mp4", platform_identity)
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_a_clip_too_short_to_carry_every_word(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    # One frame short of the minimum the policy refuses at submission (min_publish_frames).
    count = min_publish_frames() - 1
    with pytest.raises(WatermarkError) as raised:
        _publish(rendered(appearance, count), payload, tmp_path / "o.mp4", platform_identity)
    assert raised.value.code == "clip_too_short"
    assert list(tmp_path.iterdir()) == []


def test_a_failing_consent_recheck_leaves_nothing_behind(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    class ConsentRevoked(Exception):
        pass

    def revoked() -> None:
        raise ConsentRevoked("consent was withdrawn during rendering")

    with pytest.raises(ConsentRevoked):
        _publish(
            rendered(appearance, 40), payload, tmp_path / "o.mp4", platform_identity,
            before_sign=revoked,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_renderer_crash_mid_stream_leaves_nothing_behind(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    def crashing() -> Iterator[np.ndarray]:
        yield from rendered(appearance, 20)
        raise RuntimeError("renderer out of memory")

    with pytest.raises(RuntimeError):
        _publish(crashing(), payload, tmp_path / "o.mp4", platform_identity)
    assert list(tmp_path.iterdir()) == []


def test_a_frame_the_encoder_rejects_mid_stream_is_a_media_error_and_leaves_nothing(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    """The encoder runs on its own thread; its error still reaches the caller, once."""

    def wrong_size_at_frame_30() -> Iterator[np.ndarray]:
        yield from rendered(appearance, 30)
        yield np.zeros((256, 256, 3), np.uint8)
        yield from rendered(appearance, 30)

    with pytest.raises(MediaError, match="frame must be"):
        _publish(wrong_size_at_frame_30(), payload, tmp_path / "o.mp4", platform_identity)
    assert list(tmp_path.iterdir()) == []


def test_a_signing_failure_leaves_nothing_behind(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    other_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    # The platform's chain with somebody else's key: the signature cannot verify.
    mismatched = SigningIdentity(
        cert_chain_pem=platform_identity.cert_chain_pem,
        private_key_pem=other_identity.private_key_pem,
        root_pem=platform_identity.root_pem,
        key_id=platform_identity.key_id,
    )
    with pytest.raises(SigningError):
        _publish(rendered(appearance, 40), payload, tmp_path / "o.mp4", mismatched)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_it_streams_frames_instead_of_holding_the_clip(
    appearance: MarkedAppearance,
    payload: WatermarkPayload,
    platform_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    count = 150  # 6 s: 150 x 512 x 512 x 3 bytes = 113 MiB if held
    tracemalloc.start()
    try:
        record = _publish(
            rendered(appearance, count), payload, tmp_path / "o.mp4", platform_identity
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record.frames == count
    assert peak < 40 * 2**20
