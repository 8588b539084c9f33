"""Motion latent: seeded, causal, natural blinks, idle motion in silence, controls respected."""

from __future__ import annotations

import numpy as np
import pytest

from generator.config import Controls
from generator.errors import GeneratorError
from generator.motion import CHANNEL, MotionModel

FPS = 25.0
SILENCE = np.tile(np.array([[0.0, 0.5, 0.0]], np.float32), (int(60 * FPS), 1))  # 60 s


def synthetic_mouth(frames: int, fps: float, *, syllable_hz: float = 4.0) -> np.ndarray:
    """(T, 3) speech-like mouth rows (jaw, width, rounding), so motion is tested without audio."""
    t = np.arange(frames) / fps
    jaw = np.clip(np.sin(2 * np.pi * syllable_hz * t), 0.0, None) * 0.8
    jaw *= (np.sin(2 * np.pi * 0.25 * t) > -0.3).astype(np.float64)  # pauses
    width = 0.5 + 0.2 * np.sin(2 * np.pi * 1.3 * t)
    rounding = 0.3 * np.clip(np.sin(2 * np.pi * 0.9 * t), 0.0, None)
    return np.stack([jaw, width, rounding], axis=1).astype(np.float32)


def _blinks(latents: np.ndarray, channel: str = "blink_right") -> int:
    closed = latents[:, CHANNEL[channel]] > 0.5
    return int(np.sum(closed[1:] & ~closed[:-1]))


def test_the_same_seed_gives_the_same_latents():
    mouth = synthetic_mouth(250, FPS)
    first = MotionModel(Controls(seed=7), FPS).run(mouth)
    second = MotionModel(Controls(seed=7), FPS).run(mouth)
    assert np.array_equal(first, second)


def test_another_seed_gives_other_motion():
    mouth = synthetic_mouth(250, FPS)
    first = MotionModel(Controls(seed=7), FPS).run(mouth)
    second = MotionModel(Controls(seed=8), FPS).run(mouth)
    assert not np.allclose(first[:, CHANNEL["yaw"]], second[:, CHANNEL["yaw"]])


def test_stepping_frame_by_frame_equals_running_the_whole_clip():
    mouth = synthetic_mouth(100, FPS)
    whole = MotionModel(Controls(seed=3), FPS).run(mouth)
    model = MotionModel(Controls(seed=3), FPS)
    stepped = np.stack([model.step(row) for row in mouth])
    assert np.array_equal(whole, stepped)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_blinks_come_at_a_natural_rate_for_both_eyes(seed):
    latents = MotionModel(Controls(seed=seed), FPS).run(SILENCE)
    assert 8 <= _blinks(latents, "blink_right") <= 30
    assert 8 <= _blinks(latents, "blink_left") <= 30


def test_blink_intervals_vary_like_a_person_not_a_metronome():
    latents = MotionModel(Controls(seed=5), FPS).run(SILENCE)
    closed = latents[:, CHANNEL["blink_right"]] > 0.5
    onsets = np.flatnonzero(closed[1:] & ~closed[:-1])
    intervals = np.diff(onsets) / FPS
    assert intervals.std() / intervals.mean() > 0.2


def test_silence_keeps_the_mouth_closed_while_head_and_eyes_move():
    latents = MotionModel(Controls(seed=1), FPS).run(SILENCE)
    assert np.all(latents[:, CHANNEL["jaw_open"]] == 0.0)
    assert latents[:, CHANNEL["yaw"]].std() > 0.05
    assert latents[:, CHANNEL["gaze_x"]].std() > 0.02
    assert _blinks(latents) > 0


def test_head_motion_is_smooth_from_frame_to_frame():
    latents = MotionModel(Controls(seed=2), FPS).run(synthetic_mouth(500, FPS))
    yaw = latents[:, CHANNEL["yaw"]]
    assert np.abs(np.diff(yaw)).max() < 0.1 * (yaw.max() - yaw.min())


def test_speech_moves_the_head_more_than_silence():
    silent = MotionModel(Controls(seed=4), FPS).run(SILENCE[:500])
    speaking = MotionModel(Controls(seed=4), FPS).run(synthetic_mouth(500, FPS))
    assert speaking[:, CHANNEL["pitch"]].std() > silent[:, CHANNEL["pitch"]].std()


def test_emotions_offset_mouth_corners_and_brows():
    def mean(emotion: str, channel: str) -> float:
        latents = MotionModel(Controls(emotion=emotion), FPS).run(SILENCE[:50])
        return float(latents[:, CHANNEL[channel]].mean())

    assert mean("happy", "smile") > mean("neutral", "smile") > mean("serious", "smile")
    assert mean("serious", "brow_furrow") > mean("neutral", "brow_furrow")


def test_zero_intensity_holds_the_head_still():
    latents = MotionModel(Controls(intensity=0.0), FPS).run(synthetic_mouth(200, FPS))
    for name in ("yaw", "pitch", "roll", "shift_x", "shift_y"):
        assert np.all(latents[:, CHANNEL[name]] == 0.0)


def test_main_gaze_direction_sets_the_average_gaze():
    latents = MotionModel(Controls(gaze=(0.6, -0.3)), FPS).run(SILENCE[:500])
    assert latents[:, CHANNEL["gaze_x"]].mean() == pytest.approx(0.6, abs=0.1)
    assert latents[:, CHANNEL["gaze_y"]].mean() == pytest.approx(-0.3, abs=0.1)


@pytest.mark.parametrize(
    "controls",
    [
        Controls(gaze=(1.5, 0.0)),
        Controls(head_distance=2.0),
        Controls(emotion="furious"),
        Controls(intensity=-1.0),
        Controls(seed=-1),
        Controls(intensity=float("nan")),
    ],
)
def test_it_rejects_controls_out_of_range(controls):
    with pytest.raises(GeneratorError) as caught:
        MotionModel(controls, FPS)
    assert caught.value.code == "invalid_controls"
