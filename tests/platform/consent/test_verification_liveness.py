"""The clip must show a person reading live: the picture moves, the sound holds speech, the
one-time code is heard (PocketSphinx, offline; espeak-ng speaks the test clips' digits), and it
is not one of the platform's own generated videos (watermark or C2PA manifest)."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from consent.models import VerificationStatus
from consent.verification import verification_start
from tests.platform.consent.spoken_clips import (
    SPOKEN_CODE,
    code_sentence,
    moving_frames,
    pin_code,
    spoken_audio,
    submit_recording,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def verification(enrolled_identity, owner):
    return pin_code(verification_start(identity=enrolled_identity, owner=owner))


def test_the_right_code_spoken_passes(verification, owner, astronaut_clip):
    result = submit_recording(verification, owner, astronaut_clip)
    assert result.status == VerificationStatus.PENDING_REVIEW, result.checks
    assert result.checks["code_heard"] is True


def test_a_wrong_code_spoken_is_refused(verification, owner, wrong_code_clip):
    result = submit_recording(verification, owner, wrong_code_clip)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["code_not_spoken"]
    assert "one-time code was not heard" in result.checks["failures"][0]


def test_a_still_image_is_refused_even_with_the_code_spoken(
    verification, owner, still_astronaut_clip
):
    result = submit_recording(verification, owner, still_astronaut_clip)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["no_motion"]
    assert "still image" in result.checks["failures"][0]


def test_a_clip_without_sound_is_refused(verification, owner, silent_astronaut_clip):
    result = submit_recording(verification, owner, silent_astronaut_clip)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["no_audio"]
    assert "no sound" in result.checks["failures"][0]


# --- the platform's own output ------------------------------------------------------------


@pytest.fixture(scope="session")
def platform_output_speaking(tmp_path_factory):
    """A real platform output of the enrolled face reading the code: the astronaut's marked
    appearance moving, espeak-ng's speech as its sound, published (watermarked, C2PA-signed)
    with the session's platform keys, as a job would publish it."""
    from django.test import override_settings
    from skimage.data import astronaut

    from core.keys import secret_bytes
    from provenance.c2pa_ca import ensure_platform_ca
    from provenance.manifest import ManifestInfo
    from provenance.media import AudioTrack
    from provenance.payload import payload_for_record
    from provenance.publish import publish
    from provenance.watermark import mark_appearance

    keys = tmp_path_factory.getbasetemp() / "keys"
    with override_settings(PLATFORM_KEYS_DIR=keys):
        key = secret_bytes("watermark")
    signer = ensure_platform_ca(keys / "c2pa")
    samples, rate = spoken_audio(code_sentence(SPOKEN_CODE))
    fps = 25
    count = round((len(samples) / rate + 0.5) * fps)
    payload = payload_for_record(7, key)
    marked = mark_appearance(astronaut(), payload)
    frames = moving_frames(marked.for_frame, count)
    path = tmp_path_factory.mktemp("output") / "7.mp4"
    publish(
        frames,
        AudioTrack((samples / 32768.0).astype(np.float32), rate),
        payload,
        ManifestInfo(
            title="Generated",
            record_id=7,
            consent_receipt_id="receipt",
            decision_id="decision",
            generator_version="test",
        ),
        path,
        signer=signer,
        watermark_key=key,
        fps=fps,
    )
    return path.read_bytes()


def _without_manifest(data: bytes) -> bytes:
    """The same streams remuxed into a new MP4: the C2PA manifest stays behind, the watermark
    (in the pixels) comes along."""
    source, target = io.BytesIO(data), io.BytesIO()
    with av.open(source) as reader, av.open(target, "w", format="mp4") as writer:
        streams = {s.index: writer.add_stream_from_template(s) for s in reader.streams}
        for packet in reader.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            writer.mux(packet)
    return target.getvalue()


@pytest.mark.slow
def test_the_platforms_signed_watermarked_output_is_refused(
    verification, owner, platform_output_speaking
):
    result = submit_recording(verification, owner, platform_output_speaking)
    assert result.status == VerificationStatus.CHECKS_FAILED
    # Everything else passes: the face, its motion, the speech and the code. Only what the
    # platform wrote into the file gives it away.
    assert set(result.checks["failure_codes"]) == {"c2pa_manifest", "platform_watermark"}
    assert any("signed by this platform" in text for text in result.checks["failures"])


@pytest.mark.slow
def test_a_copy_without_its_manifest_is_refused_by_its_watermark(
    verification, owner, platform_output_speaking
):
    result = submit_recording(verification, owner, _without_manifest(platform_output_speaking))
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["platform_watermark"]
