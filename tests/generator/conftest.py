"""Shared speech fixtures for the generator tests, synthesised with espeak-ng on the fly.

No media is committed: every clip is made once per test session under tmp_path_factory.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

# SSML breaks give real silent gaps between phrases, so tests can tell speech from pauses.
SPEECH_SSML = (
    "<speak>Good morning, everyone. <break time='600ms'/>"
    "Thank you for joining the call. <break time='600ms'/>"
    "Then we open the floor for questions.</speak>"
)


def espeak_wav(path: Path, text: str, *, voice: str = "en-us", ssml: bool = False) -> Path:
    """Synthesise `text` with the espeak-ng CLI into a WAV file at `path` (22.05 kHz mono)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed; the generator tests need it")
    args = ["espeak-ng", "-v", voice, "-w", str(path)]
    if ssml:
        args.append("-m")
    subprocess.run([*args, text], check=True, capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~6 s English sentence (espeak-ng, en-us) with pauses between its phrases."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    return espeak_wav(path, SPEECH_SSML, voice="en-us", ssml=True)


@pytest.fixture(scope="session")
def heldout_speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same script spoken by a voice the viseme model never saw in training (en-gb+f3)."""
    path = tmp_path_factory.mktemp("speech") / "speech_heldout.wav"
    return espeak_wav(path, SPEECH_SSML, voice="en-gb+f3", ssml=True)


@pytest.fixture(scope="session")
def silent_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of digital silence, 16 kHz mono 16-bit PCM."""
    path = tmp_path_factory.mktemp("silence") / "silence.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(np.zeros(3 * 16_000, dtype=np.int16).tobytes())
    return path
