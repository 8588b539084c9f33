"""Phoneme -> viseme -> mouth targets: the labels the model is trained on."""

from __future__ import annotations

import numpy as np
import pytest

from generator.viseme.phonemes import (
    MOUTH_TABLE,
    PHONEME_TO_VISEME,
    SILENCE,
    VISEME_INDEX,
    VISEMES,
    frame_labels,
    mouth_targets,
    viseme_of,
)
from tools.viseme.espeak import EspeakSynthesizer


@pytest.mark.parametrize(
    ("phoneme", "viseme"),
    [
        ("p", "PP"),
        ("m", "PP"),
        ("f", "FF"),
        ("A:", "aa"),
        ("u:", "ou"),
        ("i:", "ih"),
        ("_:", "sil"),
    ],
)
def test_it_maps_espeak_phonemes_to_their_viseme(phoneme: str, viseme: str) -> None:
    assert viseme_of(phoneme) == viseme


def test_every_phoneme_espeak_speaks_in_english_has_a_mapping() -> None:
    text = (
        "The quick brown fox jumps over the lazy dog. Our cowboy boys enjoy loud noises; "
        "she measured the beige treasure, thirty thousand feathers. Where are you? Uh-huh!"
    )
    spoken = set()
    for voice in ("en", "en-us", "en-gb-scotland"):
        spoken |= {
            e.phoneme for e in EspeakSynthesizer.shared().synthesize(text, voice=voice).phonemes
        }
    unmapped = {p for p in spoken if not p.startswith("_") and p not in PHONEME_TO_VISEME}
    assert not unmapped


def test_open_vowels_open_the_jaw_more_than_bilabials_and_silence() -> None:
    jaw = MOUTH_TABLE[:, 0]
    assert jaw[VISEME_INDEX["aa"]] > 0.8
    assert jaw[VISEME_INDEX["PP"]] == 0.0 and jaw[SILENCE] == 0.0
    assert MOUTH_TABLE[VISEME_INDEX["ou"], 2] > MOUTH_TABLE[VISEME_INDEX["ih"], 2]
    assert MOUTH_TABLE[VISEME_INDEX["ih"], 1] > MOUTH_TABLE[VISEME_INDEX["ou"], 1]


def test_frames_take_the_phoneme_sounding_at_their_centre() -> None:
    timeline = [("_", 0.0), ("m", 0.10), ("A:", 0.16), ("_:", 0.40)]
    labels = frame_labels(timeline, duration_s=0.5, n_frames=60, hop_s=0.01)
    assert labels[5] == SILENCE
    assert labels[12] == VISEME_INDEX["PP"]
    assert labels[30] == VISEME_INDEX["aa"]
    assert (labels[40:] == SILENCE).all()  # the pause and everything after the audio ends


def test_targets_are_smooth_and_close_the_mouth_in_silence() -> None:
    labels = np.array([SILENCE] * 30 + [VISEME_INDEX["aa"]] * 30 + [SILENCE] * 30)
    targets = mouth_targets(labels, hop_s=0.01)
    assert targets.shape == (90, 3) and targets.dtype == np.float32
    assert targets[:20, 0].max() < 0.01 and targets[75:, 0].max() < 0.01
    assert targets[45, 0] == pytest.approx(MOUTH_TABLE[VISEME_INDEX["aa"], 0], abs=0.01)
    # Coarticulation: the jaw starts opening before the vowel and never jumps.
    assert 0.05 < targets[28, 0] < 0.5
    assert np.abs(np.diff(targets[:, 0])).max() < 0.2


def test_there_are_fifteen_visemes_with_silence_first() -> None:
    assert len(VISEMES) == 15 and VISEMES[SILENCE] == "sil"
