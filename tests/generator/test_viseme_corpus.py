"""The synthesised training corpus: voice split and frame-aligned labels."""

from __future__ import annotations

import numpy as np

from generator.viseme.phonemes import SILENCE
from tools.viseme.corpus import (
    all_voices,
    is_held_out,
    random_setting,
    random_text,
    synthesize_example,
)


def test_held_out_voices_are_a_strict_minority_of_all_voices() -> None:
    voices = all_voices()
    held_out = [v for v in voices if is_held_out(v)]
    assert len(voices) == 96
    assert 0 < len(held_out) < len(voices) // 3
    assert is_held_out("en+f3") and is_held_out("en-029") and not is_held_out("en-us+m3")


def test_an_example_has_features_and_labels_for_every_frame() -> None:
    rng = np.random.default_rng(7)
    text, ssml = random_text(rng)
    example = synthesize_example(random_setting("en-us+m2", rng), text, ssml, seed=7)
    n = len(example.visemes)
    assert example.features.shape == (n, 80)
    assert example.mouth.shape == (n, 3)
    assert 0 < (example.visemes == SILENCE).mean() < 1


def test_silence_labels_fall_on_quiet_audio() -> None:
    rng = np.random.default_rng(3)
    setting = random_setting("en-gb-x-rp", rng)
    example = synthesize_example(setting, "Good morning. Thank you for coming.", False, seed=3)
    energy = example.features.astype(np.float32).mean(axis=1)  # (F,) mean log-mel
    silent = example.visemes == SILENCE
    assert energy[silent].mean() < energy[~silent].mean() - 1.0
