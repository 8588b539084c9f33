"""Was the one-time code spoken in the recording? Offline, with PocketSphinx and a digits grammar.

PocketSphinx's wheel ships its US-English acoustic model and CMUdict, so nothing is downloaded.
A grammar of digit words alone cannot transcribe the rest of the statement, so it forces that
speech into digits too: the code is looked for as a run inside what was heard, and only the
last CODE_WINDOW_SECONDS of speech are decoded (the statement ends with the code; decoding a
minute of speech against the grammar takes tens of seconds on one core).
"""

from __future__ import annotations

import av
import numpy as np
from pocketsphinx import Decoder, Vad

SAMPLE_RATE = 16_000  # the acoustic model's rate
CODE_WINDOW_SECONDS = 12.0  # "My one-time code is" and six digits, read slowly
# One digit misheard, dropped or added still counts as the code: synthetic and accented voices
# lose a digit now and then, and six random digits within one edit of a wrong reading are rare
# (about 1 in 8,000 per position of heard digits); the verifier also listens.
MAX_DIGIT_ERRORS = 1
DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_GRAMMAR = (
    "#JSGF V1.0;\ngrammar digits;\npublic <digits> = <digit>+;\n"
    f"<digit> = {' | '.join(DIGIT_WORDS)};\n"
)


class AudioError(Exception):
    """The recording's sound could not be decoded."""


def audio_samples(path, *, max_seconds: float) -> np.ndarray | None:
    """The first audio stream as mono 16-kHz int16 samples, or None when the file has none."""
    chunks: list[np.ndarray] = []
    limit = int((max_seconds + 1.0) * SAMPLE_RATE)
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                return None
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            total = 0
            for frame in container.decode(container.streams.audio[0]):
                for part in resampler.resample(frame):
                    chunk = part.to_ndarray().reshape(-1)  # (n,)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limit:
                    break
            for part in resampler.resample(None):
                chunks.append(part.to_ndarray().reshape(-1))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(str(exc)) from exc
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks)[:limit].astype(np.int16)  # (N,)


def voiced_frames(samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Which 30-ms frames hold speech (WebRTC's voice activity detector), and the frame length."""
    vad = Vad(Vad.MEDIUM_STRICT, SAMPLE_RATE)
    step = vad.frame_bytes // 2
    count = len(samples) // step
    flags = np.array(
        [vad.is_speech(samples[i * step : (i + 1) * step].tobytes()) for i in range(count)],
        dtype=bool,
    )  # (count,)
    return flags, vad.frame_length


def heard_digits(samples: np.ndarray, voiced: np.ndarray, frame_seconds: float) -> str:
    """The digits the grammar hears in the last CODE_WINDOW_SECONDS before speech ends."""
    if not voiced.any():
        return ""
    end = (int(np.flatnonzero(voiced)[-1]) + 1) * frame_seconds + 0.3
    start = max(0.0, end - CODE_WINDOW_SECONDS)
    window = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    decoder = Decoder(samprate=SAMPLE_RATE, lm=None, loglevel="FATAL")
    decoder.add_jsgf_string("digits", _GRAMMAR)
    decoder.activate_search("digits")
    decoder.start_utt()
    decoder.process_raw(np.ascontiguousarray(window).tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    words = hypothesis.hypstr.split() if hypothesis is not None else []
    return "".join(DIGIT_WORDS[word] for word in words if word in DIGIT_WORDS)


def code_heard(heard: str, code: str, max_errors: int = MAX_DIGIT_ERRORS) -> bool:
    """True when some run of `heard` is within `max_errors` edits of `code` (Sellers' algorithm:
    edit distance where the match may start and end anywhere in `heard`)."""
    if not code:
        return False
    previous = list(range(len(code) + 1))  # column for an empty prefix of `heard`
    best = previous[-1]
    for char in heard:
        current = [0]  # a match may start at any position of `heard`
        for i, wanted in enumerate(code, start=1):
            current.append(
                min(
                    previous[i] + 1,
                    current[i - 1] + 1,
                    previous[i - 1] + (0 if wanted == char else 1),
                )
            )
        previous = current
        best = min(best, previous[-1])
    return best <= max_errors
