"""The bench's talking-like clips: portraits cut from skimage photos, and a smooth head motion
with a mouth that opens and closes, rendered by cv2 warps (never the generator).

Harder than the generator's motion: the whole frame (background too) turns by up to 4 degrees,
shifts by up to 10 px and zooms by up to 4 % at 0.1-0.6 Hz, and the mouth opens at 2-4 Hz; the
generator keeps the background still, so its frames move less of the mark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data as skimage_data

SIZE = 512
FPS = 25
SECONDS = 10


def source_images() -> list[np.ndarray]:
    """Photos the portraits are cut from: the astronaut's face most, other scenes for variety."""
    return [
        skimage_data.astronaut(),
        skimage_data.chelsea(),
        skimage_data.coffee(),
        skimage_data.rocket(),
        np.repeat(skimage_data.camera()[:, :, None], 3, axis=2),
    ]


def make_portrait(rng: np.random.Generator, sources: list[np.ndarray]) -> np.ndarray:
    """A 512x512 RGB canvas: random crop (half the time around the astronaut's face), flip, tint."""
    source = sources[0] if rng.random() < 0.5 else sources[rng.integers(len(sources))]
    height, width = source.shape[:2]
    side = int(rng.uniform(0.45, 1.0) * min(height, width))
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    crop = source[top : top + side, left : left + side]
    portrait = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        portrait = portrait[:, ::-1]
    gains = rng.uniform(0.8, 1.2, size=3)
    gamma = rng.uniform(0.8, 1.25)
    tinted = 255.0 * (np.clip(portrait * gains, 0, 255) / 255.0) ** gamma
    return np.ascontiguousarray(np.clip(tinted, 0, 255).astype(np.uint8))


@dataclass(frozen=True)
class Motion:
    """Smooth talking-like motion: head sway, nod and zoom, and a mouth opening and closing."""

    amplitudes: np.ndarray  # (4,) rotation deg, shift x px, shift y px, zoom
    frequencies: np.ndarray  # (5,) Hz for the four head terms and the mouth
    phases: np.ndarray  # (5,)
    mouth: tuple[float, float]  # centre (x, y) px
    mouth_open: float  # px of vertical stretch at the widest


def make_motion(rng: np.random.Generator) -> Motion:
    return Motion(
        amplitudes=np.array(
            [rng.uniform(1, 4), rng.uniform(3, 10), rng.uniform(2, 8), rng.uniform(0.01, 0.04)]
        ),
        frequencies=np.array([*rng.uniform(0.1, 0.6, size=4), rng.uniform(2.0, 4.0)]),
        phases=rng.uniform(0, 2 * np.pi, size=5),
        mouth=(rng.uniform(200, 312), rng.uniform(320, 400)),
        mouth_open=rng.uniform(4, 12),
    )


_GRID_Y, _GRID_X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def render_frame(appearance: np.ndarray, motion: Motion, index: int) -> np.ndarray:
    """One frame: the mouth region stretched vertically, then the whole head moved (affine)."""
    t = index / FPS
    wave = np.sin(2 * np.pi * motion.frequencies * t + motion.phases)  # (5,)
    opening = np.float32(motion.mouth_open * max(0.0, float(wave[4])))
    mx, my = motion.mouth
    weight = np.exp(-((_GRID_X - mx) ** 2 + (_GRID_Y - my) ** 2) / (2 * 45.0**2))  # (512, 512)
    # float32 maps: cv2.remap misreads float64 ones (a whole-frame shift)
    map_y = (_GRID_Y - opening * weight * np.tanh((_GRID_Y - my) / 20.0)).astype(np.float32)
    mouthed = cv2.remap(
        appearance, _GRID_X, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    angle, shift_x, shift_y, zoom = motion.amplitudes * wave[:4]
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), float(angle), 1.0 + float(zoom))
    matrix[:, 2] += (shift_x, shift_y)
    return cv2.warpAffine(
        mouthed, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def render_clip(appearance_for_frame: Callable[[int], np.ndarray], motion: Motion) -> list:
    return [render_frame(appearance_for_frame(i), motion, i) for i in range(FPS * SECONDS)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
