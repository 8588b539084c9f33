"""Ways of looking at a copy's frames before decoding them: straight, mirrored, zoomed back out.

A re-uploader who mirrors or crops a clip moves the mark where the decoder does not look for it;
reading the frames mirrored back, or padded back towards their old framing, puts it where the
encoder put it. Grey copies lost the mark's colour: they are read with their luma detail put back
along the colour direction the mark's residual takes.

Each reading is one more try at identifying, so detection spends a share of the 1e-9 budget on
every one of them, tried or not (`detect.try_shares`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# The copy's side as a fraction of the original's that the zoomed reading undoes: between the
# crops keeping 71% and 55% of the side, whose marks it reads (measured on a CRF 23 copy cropped
# to 55%: 59-65 of 96 codeword bits right when read straight, 74-82 padded back to 71% or 55%).
ZOOM_KEEP = 0.63
# RivaGAN's residual is nearly one colour direction (measured: 89% of its energy along this unit
# RGB vector in every portrait tried), mostly green against magenta: a grey copy keeps only its
# luma, 0.11 of its amplitude, with the opposite sign to what the decoder reads from the colour.
RESIDUAL_COLOUR = np.array([-0.58, 0.59, -0.56], np.float32)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
GREY_TOLERANCE = 3  # max |R - G|, |G - B| of a frame read as grey (H.264 chroma noise)
DETAIL_SIGMA = 2.0  # px: what the luma reading counts as detail (the mark) against shading


@dataclass(frozen=True)
class Reading:
    """One way of looking at frames: a name for reports and the edit made to each frame."""

    name: str
    edit: Callable[[np.ndarray], np.ndarray]


def mirrored(frame: np.ndarray) -> np.ndarray:
    """Left and right swapped back."""
    return np.ascontiguousarray(frame[:, ::-1])


def zoomed_out(frame: np.ndarray, keep: float = ZOOM_KEEP) -> np.ndarray:
    """The frame in the middle of a canvas 1/keep its size, the rest filled by reflection: a
    centre crop's content back at about its old scale in the decoder's 256 px input."""
    height, width = frame.shape[:2]
    pad_y, pad_x = round(height * (1 / keep - 1) / 2), round(width * (1 / keep - 1) / 2)
    return cv2.copyMakeBorder(frame, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REFLECT_101)


def is_grey(frames: Sequence[np.ndarray]) -> bool:
    """Whether every frame has (nearly) equal channels: a greyscale copy."""
    for frame in frames:
        signed = frame.astype(np.int16)
        if frame.ndim != 3 or frame.shape[2] < 3:
            continue
        if np.abs(signed[:, :, 0] - signed[:, :, 1]).max() > GREY_TOLERANCE:
            return False
        if np.abs(signed[:, :, 1] - signed[:, :, 2]).max() > GREY_TOLERANCE:
            return False
    return len(frames) > 0


def luma_coloured(frame: np.ndarray) -> np.ndarray:
    """A grey frame with its fine detail put back along RESIDUAL_COLOUR, scaled so its luma is
    the frame's: the shading stays grey, the detail (where the mark is) takes the mark's colour."""
    luma = frame[:, :, 0].astype(np.float32) if frame.ndim == 3 else frame.astype(np.float32)
    shading = cv2.GaussianBlur(luma, (0, 0), DETAIL_SIGMA)  # (H, W)
    direction = RESIDUAL_COLOUR / float(RESIDUAL_COLOUR @ LUMA)  # (3,): luma 1
    coloured = shading[:, :, None] + (luma - shading)[:, :, None] * direction  # (H, W, 3)
    return np.clip(np.rint(coloured), 0, 255).astype(np.uint8)


STRAIGHT = Reading("straight", lambda frame: frame)
MIRRORED = Reading("mirrored", mirrored)
ZOOMED_OUT = Reading("zoomed_out", zoomed_out)
LUMA_COLOURED = Reading("luma", luma_coloured)
# Tried in this order when the one before did not identify.
SEARCH_READINGS = (MIRRORED, ZOOMED_OUT)


def readings_for(frames: Sequence[np.ndarray]) -> tuple[Reading, ...]:
    """The first reading (straight, or luma for a grey copy) and the searches after it. Which
    one comes first depends on the frames' colour only, never on their mark, so the number of
    tries, and the bound, is the same for every input."""
    if is_grey(frames):
        return (LUMA_COLOURED, *(_compose(r, LUMA_COLOURED) for r in SEARCH_READINGS))
    return (STRAIGHT, *SEARCH_READINGS)


def _compose(outer: Reading, inner: Reading) -> Reading:
    return Reading(f"{inner.name}+{outer.name}", lambda frame: outer.edit(inner.edit(frame)))
