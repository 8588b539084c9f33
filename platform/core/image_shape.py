"""The image shapes face detection can scan, checked before any image reaches dlib.

dlib's detectors raise a bare RuntimeError ("Filter windows must be small enough") on images a
few pixels high, and the platform's face search first scales the long side down to ~1000 px, so
a 16000x80 strip is scanned as a 5-px-high copy and fails the same way. A face of the smallest
accepted width (RenderConfig.min_face_px) cannot fit a narrower image anyway, and no portrait is
four times longer than it is wide: refusing such shapes up front turns a 500 into a clear answer.
"""

from __future__ import annotations

from generator.config import RenderConfig

from .errors import ApplicationError

MAX_ASPECT = 4.0  # long side / short side


def image_shape_problem(width: int, height: int) -> str | None:
    """Why an image of this size cannot hold a face we could find, or None if it can."""
    min_side = RenderConfig().min_face_px
    if min(width, height) < min_side:
        return (
            f"The portrait is {width}x{height} pixels: too narrow to hold a face; use a photo"
            f" at least {min_side} pixels on each side."
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        return (
            f"The portrait is {width}x{height} pixels: too narrow for a portrait; its long side"
            f" may be at most {MAX_ASPECT:.0f} times its short side."
        )
    return None


def portrait_shape_check(width: int, height: int) -> None:
    """Raise ApplicationError (code "portrait_shape") for a portrait face detection cannot scan."""
    problem = image_shape_problem(width, height)
    if problem is not None:
        raise ApplicationError(problem, code="portrait_shape")
