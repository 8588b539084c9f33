"""The committed viseme checkpoint on real espeak-ng speech: lip sync, silence, streaming."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from generator.audio import AudioClip, frame_count, load_audio, rms_envelope
from generator.viseme import MOUTH_CHANNELS, VisemePredictor
from generator.viseme.predictor import DEFAULT_CHECKPOINT

FPS = 25
CHUNK = 640  # 40 ms at 16 kHz


@pytest.fixture(scope="module")
def predictor() -> VisemePredictor:
    torch.set_num_threads(1)
    return VisemePredictor.load()


def best_lagged_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 2) -> float:
    """Highest Pearson correlation of a[t + lag] with b[t] for |lag| <= max_lag."""
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b[: len(b) - lag]) if lag >= 0 else (a[:lag], b[-lag:])
        best = max(best, float(np.corrcoef(x, y)[0, 1]))
    return best


def test_the_committed_checkpoint_is_at_most_10_mb() -> None:
    assert DEFAULT_CHECKPOINT.is_file()
    assert DEFAULT_CHECKPOINT.stat().st_size <= 10 * 1024 * 1024


def test_it_predicts_one_row_of_three_channels_per_frame(
    predictor: VisemePredictor, speech_wav: Path
) -> None:
    clip = load_audio(speech_wav)
    for fps in (25, 30, 60):
        mouth = predictor.predict(clip, fps)
        assert mouth.shape == (frame_count(clip.duration_s, fps), len(MOUTH_CHANNELS))
        assert mouth.dtype == np.float32
        assert mouth.min() >= 0.0 and mouth.max() <= 1.0


def test_silent_audio_keeps_the_mouth_closed(predictor: VisemePredictor, silent_wav: Path) -> None:
    jaw = predictor.predict(load_audio(silent_wav), FPS)[:, 0]
    assert len(jaw) == 75
    assert jaw.max() < 0.05


def test_jaw_opening_follows_loudness_on_a_held_out_voice(
    predictor: VisemePredictor, heldout_speech_wav: Path
) -> None:
    clip = load_audio(heldout_speech_wav)
    jaw = predictor.predict(clip, FPS)[:, 0]
    assert best_lagged_correlation(jaw, rms_envelope(clip, FPS)) >= 0.5


def test_quiet_frames_open_the_mouth_far_less_than_loud_frames(
    predictor: VisemePredictor, heldout_speech_wav: Path
) -> None:
    clip = load_audio(heldout_speech_wav)
    jaw = predictor.predict(clip, FPS)[:, 0]
    order = np.argsort(rms_envelope(clip, FPS))
    fifth = len(order) // 5
    assert jaw[order[:fifth]].mean() <= 0.2 * jaw[order[-fifth:]].mean()


def test_mouth_shape_comes_from_the_sounds_not_loudness(
    predictor: VisemePredictor, tmp_path: Path
) -> None:
    """Rounded /u/ words purse the lips, spread /i/ words widen them, at the same loudness."""

    def speak(text: str) -> np.ndarray:
        path = tmp_path / f"{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us+f3", "-w", str(path), text], check=True)
        clip = load_audio(path)
        mouth = predictor.predict(clip, FPS)
        envelope = rms_envelope(clip, FPS)
        return mouth[envelope > 0.3 * envelope.max()].mean(axis=0)  # voiced frames only

    rounded = speak("Who knew you two would choose blue shoes, too?")
    spread = speak("We see these green leaves, each one sweet.")
    assert rounded[2] > spread[2] + 0.15  # lip_round
    assert spread[1] > rounded[1] + 0.15  # lip_width


def test_mouth_shapes_survive_a_20_db_quieter_input(
    predictor: VisemePredictor, heldout_speech_wav: Path
) -> None:
    """Streams get raw, unnormalised microphone audio; the model must not depend on level."""
    clip = load_audio(heldout_speech_wav)
    normal = predictor.predict(clip, FPS)
    quiet = predictor.predict(AudioClip(samples=clip.samples * np.float32(0.1)), FPS)
    for channel in range(len(MOUTH_CHANNELS)):
        assert np.corrcoef(normal[:, channel], quiet[:, channel])[0, 1] > 0.9


@pytest.mark.parametrize(("chunk", "fps"), [(CHUNK, 25), (333, 30), (4000, 60), (160, 120)])
def test_streaming_matches_offline(
    predictor: VisemePredictor, speech_wav: Path, chunk: int, fps: float
) -> None:
    clip = load_audio(speech_wav)
    offline = predictor.predict(clip, fps)
    stream = predictor.streamer(fps)
    rows = [stream.push(clip.samples[i : i + chunk]) for i in range(0, len(clip.samples), chunk)]
    streamed = np.concatenate([*rows, stream.flush()])
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-4)


def test_a_flushed_stream_returns_nothing_more(
    predictor: VisemePredictor, speech_wav: Path
) -> None:
    clip = load_audio(speech_wav)
    stream = predictor.streamer(FPS)
    stream.push(clip.samples)
    assert len(stream.flush()) > 0
    assert stream.flush().shape == (0, 3)


def test_the_first_frame_is_final_within_170_ms_of_audio(
    predictor: VisemePredictor, speech_wav: Path
) -> None:
    clip = load_audio(speech_wav)
    stream = predictor.streamer(FPS)
    for index in range(0, len(clip.samples), CHUNK):
        if len(stream.push(clip.samples[index : index + CHUNK])) > 0:
            break
    audio_ms = (index + CHUNK) / 16
    assert audio_ms <= 170
