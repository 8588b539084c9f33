"""Audio front end: decode any common container, resample to 16 kHz mono, normalise loudness.

Every later stage (log-mel features, the viseme model, motion) sees the same AudioClip: float32
mono at 16 kHz with speech at a fixed loudness, so a quiet phone recording and a loud studio
take drive the face the same way. Silence is valid input and stays silent.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass

import av
import numpy as np

from generator.errors import AudioError

SAMPLE_RATE = 16_000

# Loudness target for speech: RMS of the voiced 20 ms blocks, about -20 dBFS (a common
# broadcast-style speech level that leaves ~14 dB of headroom for peaks).
TARGET_SPEECH_RMS = 0.1
# Blocks quieter than -55 dBFS are treated as silence/noise floor and never define the gain,
# and the gain is capped at +30 dB so a near-silent clip is not blown up into hiss.
NOISE_FLOOR_RMS = 10 ** (-55 / 20)
MAX_GAIN = 10 ** (30 / 20)
PEAK_LIMIT = 0.99
LOUDNESS_BLOCK_S = 0.02

# Demuxers we accept (FFmpeg names). An allowlist, not FFmpeg's full probe set: playlist and
# concat-style demuxers (hls, concat, ...) open further files or URLs named inside the upload.
ALLOWED_DEMUXERS = frozenset(
    {"wav", "w64", "mp3", "mov", "mp4", "m4a", "3gp", "ogg", "flac", "aac", "matroska", "webm"}
    | {"aiff", "caf", "au", "amr", "wv", "ape", "asf", "mpeg"}
)


@dataclass(frozen=True)
class AudioClip:
    """Mono speech at SAMPLE_RATE, loudness-normalised; the unit every generator stage consumes."""

    samples: np.ndarray  # (N,) float32 mono in [-1, 1] at sample_rate
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        """Length of the clip in seconds."""
        return len(self.samples) / self.sample_rate


def load_audio(source: str | os.PathLike | bytes, *, max_seconds: float = 120.0) -> AudioClip:
    """Decode `source` (a path or the file's bytes) with PyAV into a normalised 16 kHz AudioClip.

    Accepts any container/codec FFmpeg decodes (wav, mp3, m4a/aac, ogg, flac, ...). Raises
    AudioError when the input is not decodable audio, holds zero samples, or is longer than
    `max_seconds`. Silent audio is valid and comes back silent.
    """
    if isinstance(source, bytes | bytearray):
        if not source:
            raise AudioError("The audio file is empty.")
        handle: str | io.BytesIO = io.BytesIO(bytes(source))
    else:
        handle = os.fspath(source)
        if not os.path.isfile(handle):
            raise AudioError(f"Audio file not found: {os.path.basename(handle)}")

    try:
        container = av.open(handle, mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise AudioError("The file is not readable audio.") from exc
    with container:
        if not ALLOWED_DEMUXERS.intersection(container.format.name.split(",")):
            raise AudioError(f"Unsupported audio container: {container.format.name}.")
        if not container.streams.audio:
            raise AudioError("The file has no audio track.")
        stream = container.streams.audio[0]
        declared_s = _declared_duration_s(container, stream)
        if declared_s is not None and declared_s > max_seconds + 0.05:
            raise _too_long(declared_s, max_seconds)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        limit = int(math.ceil(max_seconds * SAMPLE_RATE))
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler only needs the samples; bad pts must not stop it
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)  # (n,) packed mono float32
                    chunks.append(chunk)
                    total += len(chunk)
                # Decoding stops as soon as the cap is passed: a header can lie about duration.
                if total > limit + SAMPLE_RATE // 20:
                    raise _too_long(total / SAMPLE_RATE, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            raise AudioError("The audio stream is corrupt.") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise AudioError("The audio holds no samples.")
    if samples.size > limit + SAMPLE_RATE // 20:
        raise _too_long(samples.size / SAMPLE_RATE, max_seconds)
    return AudioClip(samples=normalise_loudness(samples))


def clip_from_samples(samples: np.ndarray, sample_rate: int) -> AudioClip:
    """Resample raw PCM to 16 kHz mono and normalise its loudness.

    `samples` is (N,) mono or (N, C) interleaved channels, float in [-1, 1] or int16.
    """
    pcm = np.asarray(samples)
    if pcm.dtype == np.int16:
        pcm = pcm.astype(np.float32) / 32768.0
    pcm = pcm.astype(np.float32, copy=False)
    if pcm.ndim == 2:
        pcm = pcm.mean(axis=1)  # (N,) downmix
    if pcm.ndim != 1:
        raise AudioError("Audio samples must be (N,) or (N, channels).")
    if pcm.size == 0:
        raise AudioError("The audio holds no samples.")
    if sample_rate <= 0:
        raise AudioError("The sample rate must be positive.")
    if not np.all(np.isfinite(pcm)):
        raise AudioError("The audio samples contain NaN or infinity.")
    if sample_rate != SAMPLE_RATE:
        pcm = _resample(pcm, sample_rate)
    return AudioClip(samples=normalise_loudness(pcm))


def normalise_loudness(samples: np.ndarray) -> np.ndarray:
    """Scale speech so its voiced blocks reach TARGET_SPEECH_RMS; leave silence silent.

    The gain is measured only on blocks above the noise floor (so pauses do not dilute it),
    is capped at MAX_GAIN, and peaks are then kept below PEAK_LIMIT.
    """
    x = np.clip(samples.astype(np.float32, copy=False), -1.0, 1.0)
    block = int(LOUDNESS_BLOCK_S * SAMPLE_RATE)
    n_blocks = len(x) // block
    if n_blocks == 0:
        block_rms = np.sqrt(np.mean(x.astype(np.float64) ** 2, keepdims=True))
    else:
        blocks = x[: n_blocks * block].reshape(n_blocks, block).astype(np.float64)
        block_rms = np.sqrt(np.mean(blocks**2, axis=1))  # (B,)
    loud = block_rms[block_rms > NOISE_FLOOR_RMS]
    if loud.size == 0:
        return x.copy()  # silence (or pure noise floor): never amplified
    # Ignore blocks far below the loudest speech (breaths, room tone) when measuring level.
    voiced = loud[loud > 0.1 * np.percentile(loud, 95)]
    speech_rms = float(np.sqrt(np.mean(voiced**2)))
    gain = min(TARGET_SPEECH_RMS / speech_rms, MAX_GAIN)
    y = x * np.float32(gain)
    peak = float(np.max(np.abs(y)))
    if peak > PEAK_LIMIT:
        y *= np.float32(PEAK_LIMIT / peak)
    return y.astype(np.float32, copy=False)


def frame_count(duration_s: float, fps: float) -> int:
    """Number of video frames covering `duration_s` at `fps`: ceil(duration * fps)."""
    if fps <= 0:
        raise ValueError("fps must be positive")
    # The epsilon absorbs float error (e.g. 0.1 * 30 = 3.0000000000000004 -> 3 frames, not 4).
    return max(0, math.ceil(duration_s * fps - 1e-9))


def rms_envelope(clip: AudioClip, fps: float) -> np.ndarray:
    """RMS of the samples under each video frame: (T,) float32, T = frame_count(duration, fps)."""
    n_frames = frame_count(clip.duration_s, fps)
    bounds = np.minimum(
        np.round(np.arange(n_frames + 1) * clip.sample_rate / fps).astype(np.int64),
        len(clip.samples),
    )  # (T+1,) sample index where each frame starts
    power = np.concatenate([[0.0], np.cumsum(clip.samples.astype(np.float64) ** 2)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    energy = power[bounds[1:]] - power[bounds[:-1]]
    return np.sqrt(np.maximum(energy, 0.0) / counts).astype(np.float32)  # (T,)


def _resample(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = sample_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _declared_duration_s(container: av.container.InputContainer, stream) -> float | None:  # noqa: ANN001
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _too_long(seconds: float, max_seconds: float) -> AudioError:
    return AudioError(f"The audio is {seconds:.1f} s long; the limit is {max_seconds:g} s.")
