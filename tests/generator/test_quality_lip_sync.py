"""generator.quality.measure_lip_sync: the benchmark's lip-sync figures for any video."""

from __future__ import annotations

import pytest

from generator.face_analysis import analyse_portrait
from generator.quality import LipSync, measure_lip_sync, real_voice


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return analyse_portrait(data.astronaut())


def test_a_still_face_fails_the_sync_target(astronaut):
    voice = real_voice()
    frames = [astronaut.aligned] * 60  # (512, 512, 3) each: the mouth never moves

    sync = measure_lip_sync(frames, voice, astronaut)

    assert "sync_r" in sync.misses()
    assert sync.mouth_open_p90 == pytest.approx(sync.mouth_open_p10, abs=0.01)


def test_the_targets_are_the_benchmarks():
    assert LipSync(0.7, 1, 0.1, 0.35, 0.05).misses() == []
    assert LipSync(0.7, 3, 0.1, 0.35, 0.05).misses() == ["sync_r"]  # too late
    assert LipSync(0.7, 0, 0.3, 0.25, 0.05).misses() == ["silence_ratio", "mouth_open_p90"]
