"""The real faces the tests use, as arrays and PNG bytes (the session fixtures in conftest.py
wrap these; clip builders use the arrays)."""

from __future__ import annotations

import io

import numpy as np


def png_bytes(image: np.ndarray, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def astronaut() -> np.ndarray:
    """Eileen Collins (NASA photo shipped with scikit-image): the consenting person."""
    import skimage.data

    return skimage.data.astronaut()  # (512, 512, 3)


def cameraman() -> np.ndarray:
    """skimage's cameraman, a different real person; scaled 1.25x so his face (79 px wide in
    the original) passes the 80 px minimum. Scaling changes no identity."""
    import cv2
    import skimage.data

    grey = cv2.resize(skimage.data.camera(), None, fx=1.25, fy=1.25, interpolation=cv2.INTER_CUBIC)
    return np.stack([grey] * 3, axis=-1)  # (640, 640, 3)
