"""Live mode: frames pushed chunk by chunk are marked, recorded and published like a job's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from generator.audio import SAMPLE_RATE, AudioClip, load_audio
from generator.config import Controls
from generator.face_analysis import analyse_portrait
from generator.live import LiveRenderer
from generator.pipeline import render
from provenance.c2pa_ca import SigningIdentity
from provenance.errors import MediaError
from provenance.live_marking import LiveMarking, LiveRecording, publish_recording
from provenance.manifest import Ingredient, ManifestInfo, read_manifest
from provenance.media import iter_video_frames, probe
from provenance.watermark import detect_watermark
from tests.generator.conftest import espeak_wav
from tests.provenance import conftest_media as media_fixtures

platform_identity = media_fixtures.platform_identity

KEY = b"live-test-watermark-key-000001!!"
RECORD_ID = 5150
CHUNK = 320  # 20 ms, what a WebRTC Opus packet carries
INFO = ManifestInfo(
    title="live session 5150",
    record_id=RECORD_ID,
    consent_receipt_id="receipt-live",
    decision_id="decision-live",
    generator_version="vasa-lite live",
    ingredients=(Ingredient("portrait.png", "cd" * 32, "image/png"),),
)


@pytest.fixture(scope="module")
def analysis():
    return analyse_portrait(data.astronaut())


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> AudioClip:
    wav = espeak_wav(tmp_path_factory.mktemp("live") / "s.wav", "Hello, this is a live call.")
    clip = load_audio(wav)
    return AudioClip(clip.samples[: int(2.4 * SAMPLE_RATE)])


@pytest.fixture(scope="module")
def marking(analysis) -> LiveMarking:
    return LiveMarking.prepare(analysis.aligned, RECORD_ID, KEY)


def _session(analysis, speech, marking, recording=None):
    live = LiveRenderer(analysis, Controls(seed=5), appearance=marking.appearance)
    frames = []
    for start in range(0, len(speech.samples), CHUNK):
        chunk = speech.samples[start : start + CHUNK]
        if recording is not None:
            recording.add_audio(chunk)
        frames.extend(live.push(chunk))
    frames.extend(live.flush())
    if recording is not None:
        for frame in frames:
            recording.add_frame(frame.pixels)
    return live, frames


def test_pushed_chunks_give_the_offline_frames_on_the_marked_appearance(analysis, speech, marking):
    _, frames = _session(analysis, speech, marking)
    offline = list(render(analysis, speech, Controls(seed=5), appearance=marking.appearance))
    assert [f.index for f in frames] == list(range(len(offline)))
    # The same tolerance as generator.stream against render (streamed features differ in ulps).
    differences = [
        np.abs(f.pixels.astype(int) - o).mean() for f, o in zip(frames, offline, strict=True)
    ]
    assert max(differences) < 0.5
    unmarked = next(iter(render(analysis, speech, Controls(seed=5))))
    assert not np.array_equal(frames[0].pixels, unmarked)  # the mark is there from frame 0


def test_the_first_frame_comes_after_the_look_ahead_not_the_whole_clip(analysis, speech, marking):
    live = LiveRenderer(analysis, appearance=marking.appearance)
    pushed = 0
    while not live.frames_made:
        live.push(speech.samples[pushed : pushed + CHUNK])
        pushed += CHUNK
    assert pushed <= 0.12 * SAMPLE_RATE  # one 40 ms frame + 60 ms look-ahead, in 20 ms chunks


def test_replay_gives_the_frames_that_were_sent(analysis, speech, marking):
    live, frames = _session(analysis, speech, marking)
    assert all(np.array_equal(f.pixels, r) for f, r in zip(frames, live.replay(), strict=True))


def test_a_pushed_chunk_after_the_end_is_refused(analysis, speech, marking):
    live, _ = _session(analysis, speech, marking)
    with pytest.raises(Exception, match="ended"):
        live.push(speech.samples[:CHUNK])


@pytest.mark.slow
def test_the_recording_publishes_signed_and_identifies_the_session(
    analysis, speech, marking, platform_identity: SigningIdentity, tmp_path: Path
):
    recording = LiveRecording()
    live, frames = _session(analysis, speech, marking, recording)
    out = tmp_path / "live.mp4"
    record = publish_recording(
        recording,
        live.replay(),
        marking,
        INFO,
        out,
        signer=platform_identity,
        watermark_key=KEY,
    )
    assert list(tmp_path.iterdir()) == [out]
    assert record.frames == len(frames) and probe(out).has_audio
    assert read_manifest(out, platform_identity.root_pem).state == "trusted"
    detection = detect_watermark(list(iter_video_frames(out)), KEY)
    assert detection.identified and detection.record_id == RECORD_ID


def test_a_recording_that_differs_from_what_was_sent_is_not_published(
    analysis, speech, marking, platform_identity: SigningIdentity, tmp_path: Path
):
    recording = LiveRecording()
    live, _ = _session(analysis, speech, marking, recording)
    recording.sent[40] ^= 1  # as if frame 40 had been another picture
    with pytest.raises(MediaError) as caught:
        publish_recording(
            recording,
            live.replay(),
            marking,
            INFO,
            tmp_path / "live.mp4",
            signer=platform_identity,
            watermark_key=KEY,
        )
    assert caught.value.code == "recording_mismatch"
    assert list(tmp_path.iterdir()) == []


def test_a_session_too_short_to_carry_the_mark_is_not_published(
    analysis, speech, marking, platform_identity: SigningIdentity, tmp_path: Path
):
    recording = LiveRecording()
    live = LiveRenderer(analysis, appearance=marking.appearance)
    for frame in live.push(speech.samples[: SAMPLE_RATE // 2]):
        recording.add_frame(frame.pixels)
    with pytest.raises(MediaError) as caught:
        publish_recording(
            recording,
            live.replay(),
            marking,
            INFO,
            tmp_path / "live.mp4",
            signer=platform_identity,
            watermark_key=KEY,
        )
    assert caught.value.code == "recording_too_short"
    assert list(tmp_path.iterdir()) == []
