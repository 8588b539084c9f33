"""Bilabials close the lips: the rendered mouth at every /p b m/ of espeak-ng speech.

espeak-ng reports when each phoneme starts in the audio it makes, so the rendered frames can
be read at each bilabial: the narrowest inner-lip gap while it lasts, measured with the face
mesh as `generator.quality` measures every frame. Open vowels in the same clip must open wide,
so a mouth that never moves cannot pass.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest

from generator.audio import load_audio
from generator.config import Controls
from generator.face_analysis import analyse_portrait
from generator.pipeline import render
from generator.quality import _opening, _track, bilabial_gaps, own_gap, portraits
from tools.viseme.espeak import EspeakSynthesizer

pytestmark = pytest.mark.slow

TEXT = "Bob may pop by. Pam bought a big map. Mom and Bobby keep a puppy. Maybe a bumpy boat."
CLOSED = 0.05  # inter-ocular distances beyond the portrait's own gap: lips together


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    utterance = EspeakSynthesizer.shared().synthesize(TEXT, voice="en-us", rate_wpm=150)
    path = tmp_path_factory.mktemp("bilabials") / "speech.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(utterance.sample_rate)
        pcm = np.clip(utterance.samples, -1.0, 1.0) * 32767
        out.writeframes(pcm.astype(np.int16).tobytes())
    timed = [(e.phoneme, e.start_sample / utterance.sample_rate) for e in utterance.phonemes]
    return load_audio(path), timed


@pytest.mark.parametrize("name", ["grace hopper", "carphone frontal"])
def test_p_b_m_close_the_lips_and_open_vowels_open_them(speech, name):
    voice, timed = speech
    analysis = analyse_portrait(portraits()[name])
    frames = list(render(analysis, voice, Controls(seed=0)))
    opening = _opening(_track(frames, analysis.mesh))  # (T,)
    bilabial, vowel = bilabial_gaps(opening, timed, own_gap(analysis))
    assert len(bilabial) >= 20 and len(vowel) >= 10
    assert np.median(bilabial) <= 0.02
    assert np.mean(bilabial <= CLOSED) >= 0.8, np.round(np.sort(bilabial), 3)
    assert np.median(vowel) >= 0.25  # the same frames read by the same measure do open
