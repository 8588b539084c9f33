"""Face analysis: one usable face in, aligned canvas + landmarks + descriptor out; clear errors."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from generator.config import RenderConfig
from generator.errors import FaceError, ImageError
from generator.face_analysis import (
    INTER_OCULAR_PX,
    analyse_portrait,
    descriptor_distance,
    detect_faces,
    face_descriptors,
    load_image,
)
from generator.landmarks import eye_centres, inter_ocular


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def analysis(astronaut):
    return analyse_portrait(astronaut)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_it_aligns_the_face_level_and_centred_on_a_512_canvas(analysis):
    assert analysis.aligned.shape == (512, 512, 3) and analysis.aligned.dtype == np.uint8
    assert analysis.landmarks.shape == (68, 2) and analysis.descriptor.shape == (128,)
    left, right = eye_centres(analysis.landmarks)
    assert abs(left[1] - right[1]) < 1.0
    assert abs((left[0] + right[0]) / 2 - 256) < 1.0
    assert inter_ocular(analysis.landmarks) == pytest.approx(INTER_OCULAR_PX, abs=1.0)


def test_the_aligned_canvas_keeps_the_identity(analysis):
    (aligned_descriptor,) = face_descriptors(analysis.aligned)
    assert descriptor_distance(aligned_descriptor, analysis.descriptor) < 0.2


def test_it_reads_the_same_pixels_from_a_path_and_from_bytes(astronaut, tmp_path):
    path = tmp_path / "portrait.png"
    path.write_bytes(_png(astronaut))
    assert np.array_equal(load_image(path), astronaut)
    assert np.array_equal(load_image(path.read_bytes()), astronaut)


@pytest.mark.slow  # HOG finds nothing, so the CNN detector runs: ~2 s on one core
def test_it_rejects_a_landscape_with_no_face():
    with pytest.raises(FaceError, match="^no face found$"):
        analyse_portrait(data.rocket())


def test_it_rejects_two_faces_and_names_the_count(astronaut):
    with pytest.raises(FaceError, match="^2 faces found: the portrait must show exactly one$"):
        analyse_portrait(np.hstack([astronaut, astronaut]))


def test_it_finds_every_face_descriptor_for_identity_checks(astronaut):
    first, second = face_descriptors(np.hstack([astronaut, astronaut]))
    assert descriptor_distance(first, second) < 0.1


def test_it_rejects_a_face_too_small_and_says_how_small(astronaut):
    small = cv2.resize(astronaut, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    with pytest.raises(FaceError, match=r"^face too small \(\d+ px wide; need 80\)$"):
        analyse_portrait(small)


def test_the_minimum_face_size_is_configurable(astronaut):
    small = cv2.resize(astronaut, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    assert analyse_portrait(small, RenderConfig(min_face_px=40)).aligned.shape == (512, 512, 3)


def test_it_rejects_unreadable_bytes():
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(b"this is not an image at all")


def test_it_rejects_a_truncated_image(astronaut):
    with pytest.raises(ImageError):
        load_image(_png(astronaut)[:2000])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no pixel data: a bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [7_000, 20_000])  # under and over Pillow's own guard
def test_it_rejects_an_image_over_the_pixel_cap_before_decoding_it(side):
    with pytest.raises(ImageError, match="over the pixel cap of 40000000") as caught:
        load_image(_png_header_only(side, side))
    assert caught.value.code == "image_too_large"


def test_the_pixel_cap_is_configurable(astronaut):
    with pytest.raises(ImageError, match="over the pixel cap of 100000"):
        load_image(_png(astronaut), max_pixels=100_000)


def test_it_rejects_a_missing_file(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "absent.png")


def test_a_large_portrait_is_detected_on_a_smaller_copy_and_measured_at_full_size(astronaut):
    large = cv2.resize(astronaut, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)  # 2048 px
    (box,) = detect_faces(large)
    assert 330 < box.width < 400  # the 90-px face, four times over, in the image's own pixels
    assert analyse_portrait(large).aligned.shape == (512, 512, 3)
