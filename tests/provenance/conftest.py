"""Shared provenance fixtures: a real face canvas, a platform key, a marked talking-like clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from provenance.bench_clips import make_motion, render_frame
from provenance.payload import WatermarkPayload, payload_for_record
from provenance.watermark import MarkedAppearance, mark_appearance

CLIP_FRAMES = 156  # 6 short runs and 10 long ones: the 16 runs detection samples, 6.2 s


@pytest.fixture(scope="session", autouse=True)
def _two_threads():
    torch.set_num_threads(2)  # the machine is shared: never take every core in tests


@pytest.fixture(scope="session")
def astronaut_aligned() -> np.ndarray:
    """A 512x512 RGB face canvas: skimage's astronaut photo cropped around her face."""
    face = data.astronaut()[0:320, 96:416]  # (320, 320, 3)
    return np.ascontiguousarray(cv2.resize(face, (512, 512), interpolation=cv2.INTER_CUBIC))


@pytest.fixture(scope="session")
def watermark_key() -> bytes:
    return b"tests-platform-watermark-key-000"


@pytest.fixture(scope="session")
def payload(watermark_key: bytes) -> WatermarkPayload:
    return payload_for_record(4242, watermark_key)


@pytest.fixture(scope="session")
def marked_appearance(astronaut_aligned: np.ndarray, payload: WatermarkPayload) -> MarkedAppearance:
    return mark_appearance(astronaut_aligned, payload)


@pytest.fixture(scope="session")
def talking_motion():
    return make_motion(np.random.default_rng(7))


@pytest.fixture(scope="session")
def marked_clip(marked_appearance: MarkedAppearance, talking_motion) -> list[np.ndarray]:
    """Frames rendered from the marked appearance, as the generator renders them."""
    return [
        render_frame(marked_appearance.for_frame(i), talking_motion, i) for i in range(CLIP_FRAMES)
    ]


@pytest.fixture(scope="session")
def clean_clip(astronaut_aligned: np.ndarray, talking_motion) -> list[np.ndarray]:
    """The same motion rendered from the unmarked portrait."""
    return [render_frame(astronaut_aligned, talking_motion, i) for i in range(CLIP_FRAMES)]
