"""Face analysis, once per portrait: detect, check, mesh, measure the pose, describe, align.

VASA-1 starts from a face-centred crop of the single input image; here that crop is a
512x512 canvas on which the renderer's geometry is laid out. Detection is dlib's HOG
detector with its CNN (MMOD) detector as fallback for faces HOG misses; the dense geometry is
MediaPipe's 478-point face mesh (`generator.landmarks`), the head pose a 3D fit of it
(`generator.head_pose`); the identity descriptor is dlib's ResNet, aligned with dlib's 5-point
model. No dlib 68-point model is used.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import dlib
import face_recognition_models
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from generator.config import RenderConfig
from generator.errors import FaceError, ImageError
from generator.head_pose import HeadPose, head_pose
from generator.landmarks import (
    EYE_LEFT,
    EYE_RIGHT,
    IBUG68_FROM_MESH,
    FaceBox,
    LandmarkProvider,
    default_provider,
    eye_centres,
    ibug68,
)

CANVAS = 512  # aligned canvas side, pixels
EYE_LINE_Y = 0.40 * CANVAS  # where the eye midpoint sits on the canvas
INTER_OCULAR_PX = 0.23 * CANVAS  # eye-centre distance on the canvas (~118 px)
HOG_MIN_SCORE = 0.5  # HOG scores below this are mostly textures (the astronaut's suit patch: 0.12)
CNN_MIN_CONFIDENCE = 0.5
HOG_MAX_SIDE = 1024  # larger portraits are searched on a copy this size
HOG_UPSAMPLE_MAX_SIDE = 640  # up to this size HOG also looks at 2x (finds 40-px faces)
CNN_MAX_SIDE = 800  # the CNN fallback costs ~2 s per 0.3 Mpx on one core
# What the renderer animates well; beyond, the far cheek and ear would have to be invented.
MAX_YAW_DEG = 35.0
MAX_PITCH_DEG = 20.0


@dataclass(frozen=True)
class PortraitAnalysis:
    """One portrait, analysed: the aligned canvas and what the renderer needs about it."""

    aligned: np.ndarray  # (512, 512, 3) uint8 RGB face-centred canvas
    landmarks: np.ndarray  # (68, 2) float32, aligned-canvas pixels, iBUG positions of the mesh
    descriptor: np.ndarray  # (128,) float32 dlib descriptor of the source face
    mesh: np.ndarray  # (478, 3) float32 face mesh, aligned-canvas pixels (z: depth, same scale)
    pose: HeadPose  # of the face in the source portrait (roll is aligned away on the canvas)
    source_scale: float = 1.0  # canvas pixels per source pixel: > 1 means upscaled, softer

    def with_aligned(self, aligned: np.ndarray) -> PortraitAnalysis:
        """Same face geometry on another canvas (e.g. the watermarked one)."""
        if aligned.shape != (CANVAS, CANVAS, 3) or aligned.dtype != np.uint8:
            raise ImageError(f"aligned canvas must be (512, 512, 3) uint8, got {aligned.shape}")
        return replace(self, aligned=aligned)


def load_image(source: str | os.PathLike | bytes, *, max_pixels: int = 40_000_000) -> np.ndarray:
    """Read a portrait from a path or bytes into (H, W, 3) uint8 RGB, EXIF orientation applied.

    The pixel cap is checked from the header, before any pixel is decoded, so a
    decompression bomb costs nothing.
    """
    try:
        if isinstance(source, bytes | bytearray):
            handle = Image.open(io.BytesIO(source))
        else:
            handle = Image.open(os.fspath(source))
    except FileNotFoundError as exc:
        raise ImageError(f"portrait file not found: {os.fspath(source)}") from exc
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (beyond ~179 Mpx) fires inside open(), before ours can.
        raise ImageError(
            f"the portrait is over the pixel cap of {max_pixels}", code="image_too_large"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError("the portrait is not a readable image") from exc
    with handle:
        width, height = handle.size
        if width * height > max_pixels:
            raise ImageError(
                f"the portrait is {width}x{height} pixels, over the pixel cap of {max_pixels}",
                code="image_too_large",
            )
        try:
            oriented = ImageOps.exif_transpose(handle).convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError("the portrait is not a readable image") from exc
    return np.asarray(oriented, dtype=np.uint8).copy()  # (H, W, 3)


def analyse_portrait(
    image: np.ndarray,
    config: RenderConfig | None = None,
    *,
    provider: LandmarkProvider | None = None,
) -> PortraitAnalysis:
    """Check the portrait shows exactly one usable face, then align it to the 512 canvas.

    Raises FaceError: "no face found", "N faces found: the portrait must show exactly one",
    "face too small (W px wide; need M)", "face turned too far from the camera (yaw 41
    degrees; limit 35)", "face tilted too far up or down (pitch 27 degrees; limit 20)".
    """
    config = (config or RenderConfig()).validated()
    image = _as_rgb(image)
    boxes = detect_faces(image)
    if not boxes:
        raise FaceError("no face found", code="no_face")
    if len(boxes) > 1:
        raise FaceError(
            f"{len(boxes)} faces found: the portrait must show exactly one", code="several_faces"
        )
    box = boxes[0]
    if box.width < config.min_face_px:
        raise FaceError(
            f"face too small ({box.width} px wide; need {config.min_face_px})",
            code="face_too_small",
        )
    provider = provider or default_provider()
    mesh = provider.mesh(image, box)  # (478, 3) source pixels
    if mesh is None:
        raise FaceError("no face found: the face could not be measured", code="no_face")
    pose = head_pose(mesh)
    if abs(pose.yaw) > MAX_YAW_DEG:
        raise FaceError(
            f"face turned too far from the camera (yaw {abs(pose.yaw):.0f} degrees; "
            f"limit {MAX_YAW_DEG:.0f})",
            code="face_turned",
        )
    if abs(pose.pitch) > MAX_PITCH_DEG:
        raise FaceError(
            f"face tilted too far up or down (pitch {abs(pose.pitch):.0f} degrees; "
            f"limit {MAX_PITCH_DEG:.0f})",
            code="face_turned",
        )
    descriptor = _descriptor(image, box)
    to_canvas = _alignment(mesh)  # (2, 3)
    aligned = cv2.warpAffine(
        image,
        to_canvas,
        (CANVAS, CANVAS),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT101,
    )
    canvas_mesh = mesh.astype(np.float64)
    canvas_mesh[:, :2] = mesh[:, :2] @ to_canvas[:, :2].T + to_canvas[:, 2]  # (478, 2)
    canvas_mesh[:, 2] *= np.sqrt(abs(np.linalg.det(to_canvas[:, :2])))  # depth scales alike
    return PortraitAnalysis(
        aligned=aligned,
        landmarks=ibug68(canvas_mesh),
        descriptor=descriptor,
        mesh=canvas_mesh.astype(np.float32),
        pose=pose,
        source_scale=float(np.sqrt(abs(np.linalg.det(to_canvas[:, :2])))),
    )


def load_models() -> None:
    """Load the HOG detector, 5-point model and ResNet now (a serving process does it once)."""
    _hog_detector()
    _five_point_predictor()
    _recogniser()


def detect_faces(image: np.ndarray) -> list[FaceBox]:
    """Every face in the image: HOG first, the CNN detector only when HOG finds none.

    Detection runs on a copy scaled down to HOG_MAX_SIDE / CNN_MAX_SIDE (a 40 Mpx portrait
    would take minutes at full size); boxes come back in the image's own pixels.
    """
    image = _as_rgb(image)
    small, scale = _scaled(image, HOG_MAX_SIDE)
    upsample = 1 if max(small.shape[:2]) <= HOG_UPSAMPLE_MAX_SIDE else 0
    rects, scores, _ = _hog_detector().run(small, upsample, 0.0)
    boxes = [
        _box(rect, score, scale)
        for rect, score in zip(rects, scores, strict=True)
        if score >= HOG_MIN_SCORE
    ]
    if boxes:
        return boxes
    small, scale = _scaled(image, CNN_MAX_SIDE)
    return [
        _box(found.rect, found.confidence, scale)
        for found in _cnn_detector()(small, 0)
        if found.confidence >= CNN_MIN_CONFIDENCE
    ]


def _scaled(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The image shrunk so its longer side is at most max_side, and the factor used."""
    scale = min(1.0, max_side / max(image.shape[:2]))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def face_descriptors(image: np.ndarray) -> list[np.ndarray]:
    """Every face's (128,) float32 dlib descriptor, for identity checks and detection."""
    image = _as_rgb(image)
    return [_descriptor(image, box) for box in detect_faces(image)]


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors; dlib calls < 0.6 the same person."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def _alignment(mesh: np.ndarray) -> np.ndarray:
    """Similarity transform (2, 3) putting the eyes level and centred, INTER_OCULAR_PX apart in 3D.

    The scale is taken from the eyes' 3D distance, which a turn does not shorten, so a face
    turned 30 degrees is drawn at the size of the same face seen frontally.
    """
    eyes = mesh[IBUG68_FROM_MESH].astype(np.float64)  # (68, 3)
    left, right = eye_centres(eyes[:, :2])
    delta = right - left
    distance_3d = float(np.linalg.norm(eyes[EYE_LEFT].mean(0) - eyes[EYE_RIGHT].mean(0)))
    scale = INTER_OCULAR_PX / distance_3d
    angle = np.arctan2(delta[1], delta[0])
    cos, sin = scale * np.cos(-angle), scale * np.sin(-angle)
    rotation = np.array([[cos, -sin], [sin, cos]], dtype=np.float64)
    midpoint = (left + right) / 2.0
    offset = np.array([CANVAS / 2.0, EYE_LINE_Y]) - rotation @ midpoint
    return np.hstack([rotation, offset[:, None]]).astype(np.float64)


def _descriptor(image: np.ndarray, box: FaceBox) -> np.ndarray:
    rect = dlib.rectangle(box.left, box.top, box.right, box.bottom)
    shape = _five_point_predictor()(image, rect)
    return np.array(_recogniser().compute_face_descriptor(image, shape), dtype=np.float32)


def _box(rect: dlib.rectangle, score: float, scale: float = 1.0) -> FaceBox:
    left, top, right, bottom = (
        round(v / scale) for v in (rect.left(), rect.top(), rect.right(), rect.bottom())
    )
    return FaceBox(left, top, right, bottom, float(score))


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


# Models load once per process (the CNN detector and ResNet take ~1 s together).
@lru_cache(maxsize=1)
def _hog_detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _cnn_detector() -> dlib.cnn_face_detection_model_v1:
    return dlib.cnn_face_detection_model_v1(
        face_recognition_models.cnn_face_detector_model_location()
    )


@lru_cache(maxsize=1)
def _five_point_predictor() -> dlib.shape_predictor:
    return dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())


@lru_cache(maxsize=1)
def _recogniser() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
