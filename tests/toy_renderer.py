"""The one toy renderer the tests share: a face picture moving as a talking head does.

Tests need clips that move like the generator's output (H.264 then predicts across frames, and
the watermark has to survive the warp) without running the generator. Frame i is the picture
for index i (a marked appearance's `for_frame`, or one fixed photo) turned, zoomed and swayed by
an affine warp. The three terms have incommensurate periods, so the motion never repeats within
a clip and evenly spaced samples never land on one pose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np


def head_motion(
    appearance_for_frame: Callable[[int], np.ndarray], count: int, *, phase: float = 0.0
) -> Iterator[np.ndarray]:
    """`count` frames, (H, W, 3) uint8 each, the size of the pictures given; `phase` shifts the
    rotation (another clip of the same face)."""
    for index in range(count):
        picture = appearance_for_frame(index)  # (H, W, 3)
        height, width = picture.shape[:2]
        angle = 3.0 * np.sin(index / 12.0 + phase)  # degrees
        scale = 1.0 + 0.02 * np.sin(index / 17.0)
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
        matrix[0, 2] += 4.0 * np.sin(index / 9.0)  # px of sway
        yield cv2.warpAffine(picture, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
