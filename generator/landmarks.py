"""The one landmark interface, and dlib's 68-point provider behind it.

dlib's 68-point model (iBUG 300-W annotations) was trained on data licensed for
non-commercial research only; everything that needs landmarks goes through
`LandmarkProvider`, so a commercially licensed 68-point model can replace it by implementing
one method. Face detection and the identity descriptor do not use this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import dlib
import face_recognition_models
import numpy as np

# iBUG 68-point index ranges, used by the motion model and the renderer.
JAW = slice(0, 17)
BROW_RIGHT = slice(17, 22)  # subject's right = image left
BROW_LEFT = slice(22, 27)
NOSE_BRIDGE = slice(27, 31)
NOSE_TIP = 30
NOSE_BASE = slice(31, 36)
EYE_RIGHT = slice(36, 42)  # image left
EYE_LEFT = slice(42, 48)  # image right
MOUTH_OUTER = slice(48, 60)
MOUTH_INNER = slice(60, 68)


@dataclass(frozen=True)
class FaceBox:
    """One detected face: pixel box in the image it was found in, and detector confidence."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left


class LandmarkProvider(Protocol):
    """Anything that places the 68 iBUG points on a face inside a box."""

    def landmarks(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        """(H, W, 3) uint8 RGB image + face box -> (68, 2) float32 (x, y) pixels."""
        ...


class Dlib68LandmarkProvider:
    """dlib's ensemble-of-regression-trees 68-point predictor (non-commercial training data)."""

    def __init__(self) -> None:
        self._predictor = _dlib_68_predictor()

    def landmarks(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
        shape = self._predictor(np.ascontiguousarray(image), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)  # (68, 2)


@lru_cache(maxsize=1)
def _dlib_68_predictor() -> dlib.shape_predictor:
    # Loaded once per process: the model file is 100 MB and takes ~0.5 s to parse.
    return dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())


def default_provider() -> LandmarkProvider:
    """The provider used when the caller does not pass one."""
    return Dlib68LandmarkProvider()


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(68, 2) landmarks -> centres of the image-left and image-right eyes, each (2,)."""
    return landmarks[EYE_RIGHT].mean(axis=0), landmarks[EYE_LEFT].mean(axis=0)


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres, the scale every relative measure is taken in."""
    a, b = eye_centres(landmarks)
    return float(np.linalg.norm(b - a))
