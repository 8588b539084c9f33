"""Clips that speak: a face moving and espeak-ng reading a one-time code, muxed as MediaRecorder
does (VP8 + Opus in WebM), and the helpers that submit them the way the recorder page does."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from tests.toy_renderer import head_motion

SPOKEN_CODE = "489241"  # the code the test verifications are pinned to (see `pin_code`)
WRONG_CODE = "157815"
# espeak-ng's US-English female voice 2 at 140 words a minute: PocketSphinx hears its digits
# (measured: 9 of 12 random codes exactly, these two exactly).
VOICE = ("-v", "en-us+f2", "-s", "140")


def spoken_audio(text: str) -> tuple[np.ndarray, int]:
    """`text` spoken by espeak-ng: (N,) int16 mono samples and their rate."""
    import subprocess
    import tempfile
    import wave

    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", *VOICE, "-w", handle.name, text], check=True)
        with wave.open(handle.name) as wav:
            rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return samples, rate


def speaking_clip_bytes(
    frames: list[np.ndarray], text: str, *, fps: int = 10, min_seconds: float = 4.0
) -> bytes:
    """What MediaRecorder sends: a WebM with VP8 video cycling through `frames` and Opus audio
    of `text` spoken by espeak-ng, the video half a second longer than the speech."""
    samples, rate = spoken_audio(text)
    seconds = max(min_seconds, len(samples) / rate + 0.5)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as container:
        video = container.add_stream("libvpx", rate=fps)
        height, width = frames[0].shape[:2]
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, fps)
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        source = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        source.sample_rate = rate
        source.pts = 0
        for part in resampler.resample(source) + resampler.resample(None):
            for packet in audio.encode(part):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frames[index % len(frames)], format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return buffer.getvalue()


def code_sentence(code: str) -> str:
    return f"My one-time code is {' '.join(code)}."


def pin_code(verification, code: str = SPOKEN_CODE):
    """Give a fresh verification a known code, so a clip spoken in advance can read it."""
    from consent.verification import verification_statement

    verification.code = code
    verification.statement = verification_statement(identity=verification.identity, code=code)
    verification.save(update_fields=["code", "statement"])
    return verification


def submit_recording(verification, owner, data: bytes, *, recorded_for: float = 10.0):
    """Send `data` as the page's recorder does: open a recorder session (moved `recorded_for`
    seconds into the past, the time the person spent reading), then post the clip with its
    nonce."""
    from datetime import timedelta

    from consent.models import IdentityVerification
    from consent.verification import verification_recording_start, verification_submit_clip

    verification, nonce = verification_recording_start(verification=verification, owner=owner)
    started = verification.recording_started_at - timedelta(seconds=recorded_for)
    IdentityVerification.objects.filter(pk=verification.pk).update(recording_started_at=started)
    return verification_submit_clip(
        verification=verification, owner=owner, data=data, source="recording", nonce=nonce
    )


def moving_frames(appearance_for_frame, count: int) -> list[np.ndarray]:
    """Frame i: appearance_for_frame(i) (a face picture) moving as a head does while reading."""
    return list(head_motion(appearance_for_frame, count))  # count x (H, W, 3)


def astronaut_moving(base: np.ndarray, count: int = 60) -> list[np.ndarray]:
    """The astronaut's photo moving as a reading head does."""
    return moving_frames(lambda index: base, count)
