"""Dense 3D face geometry: MediaPipe's 478-point face mesh, and the 68-point view the renderer uses.

The mesh comes from MediaPipe's face-landmark model with attention (Apache-2.0), bundled in
the `mediapipe` 0.10.x wheel and run offline through `mp.solutions.face_mesh`: 468 surface
points plus 10 iris points, with refined lip and eye contours. Coordinates are (x, y) pixels
and a relative depth z (toward the camera negative) in the same pixel scale.

Detection (how many faces, where) stays dlib's job in `face_analysis`; the mesh runs on a
square crop around one detected box, so small faces in large photos and several faces in one
photo are handled the same way. `ibug68` picks the mesh points that sit where the iBUG 300-W
68-point scheme puts its points, for the parts of the generator that reason in that scheme;
no dlib landmark model is involved.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import cv2
import numpy as np

MESH_POINTS = 478
CROP_SIDE = 384  # the crop the mesh runs on: the face fills about half of it

# Mesh indices at the 68 iBUG positions, in iBUG order (jaw, brows, nose, eyes, lips).
IBUG68_FROM_MESH = np.array(
    [
        *(127, 234, 93, 132, 58, 172, 136, 150, 152, 379, 365, 397, 288, 361, 323, 454, 356),
        *(70, 63, 105, 66, 107, 336, 296, 334, 293, 300),  # brows, image left then right
        *(168, 197, 5, 4, 75, 97, 2, 326, 305),  # nose bridge, tip, base
        *(33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380),  # eyes
        *(61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181),  # outer lips
        *(78, 82, 13, 312, 308, 317, 14, 87),  # inner lips
    ]
)

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

# Mesh indices used directly.
IRIS_RIGHT = slice(468, 473)  # centre first; subject's right = image left
IRIS_LEFT = slice(473, 478)
MESH_NOSE_TIP = 4
MESH_FOREHEAD = 10
MESH_CHIN = 152
# Mirror pairs (image-left point, image-right point) across the face's midline, used by the
# pose fit: eye corners, brow ends, cheeks, jaw, mouth corners, nose wings.
MIRROR_PAIRS = np.array(
    [
        (33, 263),
        (133, 362),
        (70, 300),
        (105, 334),
        (127, 356),
        (234, 454),
        (93, 323),
        (132, 361),
        (58, 288),
        (172, 397),
        (136, 365),
        (150, 379),
        (61, 291),
        (78, 308),
        (75, 305),
        (50, 280),
        (205, 425),
        (117, 346),
    ]
)
# Midline points, top to bottom: forehead, nose bridge, nose tip, upper lip, chin.
MIDLINE = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 0, 17, 18, 200, 199, 175, 152])


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
    """Anything that places the 478 mesh points on a face inside a box."""

    def mesh(self, image: np.ndarray, box: FaceBox) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB image + face box -> (478, 3) float32 (x, y, z) pixels, or None."""
        ...


class MediaPipeFaceMesh:
    """MediaPipe's face mesh with attention, on a square crop around the box."""

    def __init__(self) -> None:
        self._mesh = _face_mesh()

    def mesh(self, image: np.ndarray, box: FaceBox) -> np.ndarray | None:
        side = 2.2 * max(box.right - box.left, box.bottom - box.top)
        cx, cy = (box.left + box.right) / 2.0, (box.top + box.bottom) / 2.0
        scale = CROP_SIDE / side
        # Crop, resize and pad in one affine warp: a face at the border gets black margins.
        to_crop = np.array(
            [[scale, 0.0, CROP_SIDE / 2 - scale * cx], [0.0, scale, CROP_SIDE / 2 - scale * cy]]
        )
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        crop = cv2.warpAffine(image, to_crop, (CROP_SIDE, CROP_SIDE), flags=interpolation)
        with _MESH_LOCK, warnings.catch_warnings():  # one graph; not re-entrant
            # protobuf 4 warns about an API mediapipe 0.10.14 calls on every image.
            warnings.simplefilter("ignore", UserWarning)
            found = self._mesh.process(crop).multi_face_landmarks
        if not found:
            return None
        points = np.array([(p.x, p.y, p.z) for p in found[0].landmark], np.float64) * CROP_SIDE
        points[:, :2] = (points[:, :2] - to_crop[:, 2]) / scale  # back to image pixels
        points[:, 2] /= scale
        return points.astype(np.float32)  # (478, 3)


_MESH_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _face_mesh():  # noqa: ANN202 - mediapipe's FaceMesh; imported lazily (0.7 s)
    # MediaPipe's native code logs its start-up (TFLite delegate, absl warnings) straight to
    # file descriptor 2, which would break the CLIs' one-line errors: start the graph and run
    # it once on a bundled face with that descriptor on /dev/null.
    from skimage import data

    with _native_stderr_silenced(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mediapipe as mp

        mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,  # the attention model: irises and refined lip/eye contours
            min_detection_confidence=0.3,  # dlib already found the face; the crop holds it
        )
        mesh.process(cv2.resize(data.astronaut()[:256, 96:352], (CROP_SIDE, CROP_SIDE)))
    return mesh


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block (native libraries write there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def default_provider() -> LandmarkProvider:
    """The provider used when the caller does not pass one (loaded once per process)."""
    return MediaPipeFaceMesh()


def ibug68(mesh: np.ndarray) -> np.ndarray:
    """(478, 2+) mesh -> (68, 2) float32 points at the iBUG 300-W positions."""
    return np.ascontiguousarray(mesh[IBUG68_FROM_MESH, :2], dtype=np.float32)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(68, 2) landmarks -> centres of the image-left and image-right eyes, each (2,)."""
    return landmarks[EYE_RIGHT].mean(axis=0), landmarks[EYE_LEFT].mean(axis=0)


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres, the scale every relative measure is taken in."""
    a, b = eye_centres(landmarks)
    return float(np.linalg.norm(b - a))
