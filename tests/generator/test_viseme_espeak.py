"""The ctypes binding to libespeak-ng: speech plus phoneme events at sample positions."""

from __future__ import annotations

import numpy as np
import pytest

from tools.viseme.espeak import EspeakError, EspeakSynthesizer


def test_it_returns_speech_and_ordered_phoneme_events() -> None:
    utterance = EspeakSynthesizer.shared().synthesize("Hello world.", voice="en-us")
    assert utterance.sample_rate == 22_050
    assert utterance.samples.dtype == np.float32 and 0.5 < len(utterance.samples) / 22_050 < 3
    names = [e.phoneme for e in utterance.phonemes]
    assert names[:4] == ["h", "@", "l", "oU"]
    starts = [e.start_sample for e in utterance.phonemes]
    assert starts == sorted(starts) and starts[-1] <= len(utterance.samples)


def test_phoneme_events_line_up_with_the_audio() -> None:
    text = "<speak>Mama. <break time='800ms'/> Mama.</speak>"
    utterance = EspeakSynthesizer.shared().synthesize(text, voice="en-us", ssml=True)
    pauses = [e for e in utterance.phonemes if e.phoneme == "_:"]
    following = utterance.phonemes[utterance.phonemes.index(pauses[0]) + 1]
    gap = utterance.samples[pauses[0].start_sample + 2000 : following.start_sample - 500]
    speech = utterance.samples[: pauses[0].start_sample]
    assert len(gap) > 0.5 * 22_050  # the 800 ms break sits between the two events
    assert np.abs(gap).max() < 0.02 < np.abs(speech).max()


def test_a_faster_rate_gives_shorter_speech() -> None:
    synth = EspeakSynthesizer.shared()
    slow = synth.synthesize("Thank you very much for listening.", rate_wpm=120)
    fast = synth.synthesize("Thank you very much for listening.", rate_wpm=300)
    assert len(fast.samples) < 0.6 * len(slow.samples)


def test_it_rejects_an_unknown_voice() -> None:
    with pytest.raises(EspeakError):
        EspeakSynthesizer.shared().synthesize("Hello.", voice="xx-not-a-voice")
