"""generator.quality: its portrait set, its voice, and measures a still image cannot pass."""

from __future__ import annotations

import numpy as np
import pytest

from generator.audio import rms_envelope
from generator.face_analysis import analyse_portrait
from generator.quality import (
    FPS,
    PortraitQuality,
    _artefacts,
    _eye_aspect,
    _opening,
    _sync,
    _track,
    portraits,
    real_voice,
)


@pytest.fixture(scope="module")
def voice():
    return real_voice()


@pytest.mark.slow
def test_the_set_has_at_least_eight_portraits_the_generator_accepts():
    found = portraits()
    assert len(found) >= 8
    for image in found.values():
        assert analyse_portrait(image).mesh.shape == (478, 3)


def test_the_voice_is_a_real_recording_with_pauses(voice):
    envelope = rms_envelope(voice, FPS)
    assert 12.0 < voice.duration_s < 20.0
    quiet = envelope < 0.05 * envelope.max()
    assert 0.1 < quiet.mean() < 0.7  # speech with pauses between the phrases


def test_a_still_portrait_fails_the_motion_targets(voice):
    from skimage import data

    analysis = analyse_portrait(data.astronaut())
    frames = [analysis.aligned] * 50
    meshes = _track(frames, analysis.mesh)
    envelope = rms_envelope(voice, FPS)[:50]
    r, _ = _sync(_opening(meshes), envelope)
    assert r < 0.5
    ear = _eye_aspect(meshes)
    assert not np.any(ear < 0.6 * np.median(ear))  # no blink
    assert _artefacts(frames, meshes, analysis) < 0.0005  # ...and nothing drawn on it


def test_a_portrait_misses_what_it_misses():
    good = PortraitQuality("x", 0.2, 0.3, 0.7, 1, 0.1, 0.35, 0.02, 15.0, 3.0, 4.0, 0.0)
    assert good.misses() == []
    late = PortraitQuality("x", 0.2, 0.3, 0.7, 4, 0.1, 0.35, 0.02, 15.0, 3.0, 4.0, 0.0)
    assert late.misses() == ["sync_r"]
    still = PortraitQuality("x", 0.05, 0.06, -1.0, 0, 1.0, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0)
    assert set(still.misses()) == {"sync_r", "silence_ratio", "mouth_open_p90", "blinks_per_min"}
