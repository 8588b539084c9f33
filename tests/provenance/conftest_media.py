"""Media fixtures for the media, C2PA and publish tests, made on the fly (nothing committed).

Imported by test_media.py, test_c2pa.py and test_publish.py; tests/provenance/conftest.py belongs
to the watermark tests.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from provenance.c2pa_ca import SigningIdentity, ensure_platform_ca
from provenance.media import AudioTrack, Mp4Writer

SMALL_SIDE = 128
FPS = 25


def portrait(side: int = SMALL_SIDE) -> np.ndarray:
    """The astronaut photo (a real face), resized to a square: (side, side, 3) uint8 RGB."""
    return cv2.resize(astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def moving_frames(count: int, side: int = SMALL_SIDE) -> list[np.ndarray]:
    """`count` frames of the portrait drifting sideways with a brightness ramp, so every frame
    differs and its index can be read back from its mean brightness."""
    base = portrait(side).astype(np.int16)
    frames = []
    for index in range(count):
        shifted = np.roll(base, index, axis=1) // 2 + int(200 * index / max(1, count - 1)) // 2
        frames.append(np.clip(shifted, 0, 255).astype(np.uint8))
    return frames


def tone(seconds: float, sample_rate: int = 16_000) -> AudioTrack:
    """A 220 Hz tone: enough to prove the audio track is muxed and timed."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return AudioTrack((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate)


def write_mp4(
    path: Path, frames: list[np.ndarray], audio: AudioTrack | None = None, fps: int = FPS
) -> Path:
    height, width = frames[0].shape[:2]
    with Mp4Writer(path, width=width, height=height, fps=fps, audio=audio) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def write_matroska(path: Path, frames: list[np.ndarray], container_format: str) -> Path:
    """A VP9 WebM or MKV made with PyAV directly, to prove the readers are not MP4-only."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream("libvpx-vp9", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 128x128 video at 25 fps with a tone: 50 frames."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    return write_mp4(path, moving_frames(50), tone(2.0))


@pytest.fixture(scope="session")
def platform_identity(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return ensure_platform_ca(tmp_path_factory.mktemp("platform_ca"))


@pytest.fixture(scope="session")
def other_identity(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    """A CA the platform does not trust, built exactly like the platform's own."""
    return ensure_platform_ca(tmp_path_factory.mktemp("other_ca"), "Somebody Else")
