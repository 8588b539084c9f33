"""Hypothesis fuzzing of the upload parsers with corrupt and hostile files.

Whatever bytes arrive, a parser either returns a value or raises its library's own error
(GeneratorError / ProvenanceError, which the platform maps to a 400): never another exception
type, which would surface as a 5xx. Seeds are real files made here (skimage's astronaut, a
synthetic WAV, a tiny H.264 MP4); hypothesis truncates, flips, splices and inflates them.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import wave
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from generator.audio import load_audio
from generator.errors import GeneratorError
from generator.face_analysis import load_image
from provenance import media
from provenance.errors import ProvenanceError

pytestmark = pytest.mark.slow
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _png() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[::8, ::8]).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[::8, ::8]).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _wav() -> bytes:
    t = np.arange(8000) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(samples.tobytes())
    return buffer.getvalue()


def _mp4() -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            frame = np.full((64, 64, 3), i * 40, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG header promising width x height pixels, with a tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _solid_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def _wav_claiming(seconds: int) -> bytes:
    """A WAV header announcing `seconds` of audio followed by almost none."""
    rate, size = 16000, seconds * 16000 * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", size)
        + b"\x00" * 64
    )


SEEDS = {"png": _png(), "jpeg": _jpeg(), "wav": _wav(), "mp4": _mp4()}


@st.composite
def mutated(draw, seed_names: tuple[str, ...]) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(seed_names))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "splice", "repeat", "zero"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "splice":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "repeat":
            data[position:position] = data[position : position + 512] * draw(st.integers(1, 8))
        elif kind == "zero":
            data[position : position + 64] = bytes(min(64, len(data) - position))
    return bytes(data)


HOSTILE = [
    b"",
    b"\x00",
    b"GIF89a" + b"\x00" * 32,
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"PK\x03\x04" + b"\x00" * 64,  # a zip (a .docx "portrait")
    b"\x89PNG\r\n\x1a\n",  # signature only
    _png_bomb(60_000, 60_000),  # 3.6 gigapixels promised
    _png_bomb(100_000, 1),  # absurd aspect ratio
    _png_bomb(0, 10),
    _wav_claiming(36_000),  # ten hours announced
    SEEDS["mp4"][:200],  # box headers, no media data
    SEEDS["jpeg"][:100] + SEEDS["png"],  # polyglot
    _solid_png(1, 1),  # decodable, but dlib's filters cannot scan it
    _solid_png(16000, 2),
]


def _as_file(payload: bytes) -> str:
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".png")  # the name lies on purpose
    with handle:
        handle.write(payload)
    return handle.name


def _only_library_errors(call) -> None:
    try:
        call()
    except (GeneratorError, ProvenanceError):
        pass


def _path_parsers(path: str) -> None:
    limits = media.MediaLimits(max_bytes=5 * 2**20, max_seconds=30, max_pixels=4_000_000)
    _only_library_errors(lambda: media.sniff_kind(path))
    _only_library_errors(lambda: media.probe(path, limits))
    _only_library_errors(lambda: media.read_image(path, limits))
    _only_library_errors(lambda: media.sample_video_frames(path, 3, limits))


def _byte_parsers(payload: bytes) -> None:
    _only_library_errors(lambda: load_image(payload, max_pixels=4_000_000))
    _only_library_errors(lambda: load_audio(payload, max_seconds=30))


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_files_get_library_errors_only(payload):
    path = _as_file(payload)
    try:
        _path_parsers(path)
        _byte_parsers(payload)
    finally:
        os.unlink(path)


def test_a_decompression_bomb_is_refused_from_its_header():
    with pytest.raises(ProvenanceError) as error:
        media.read_image(_png_bomb(60_000, 60_000))
    assert error.value.code in ("absurd_dimensions", "media_too_large")
    with pytest.raises(GeneratorError):
        load_image(_png_bomb(60_000, 60_000), max_pixels=4_000_000)


def test_audio_announcing_hours_decodes_only_the_samples_really_there():
    clip = load_audio(_wav_claiming(36_000), max_seconds=30)
    assert clip.duration_s == pytest.approx(32 / 16_000)  # 64 bytes: 32 samples, not 10 hours


@FUZZ
@given(payload=mutated(("png", "jpeg")))
def test_mutated_images_get_library_errors_only(payload):
    _byte_parsers(payload)
    path = _as_file(payload)
    try:
        _path_parsers(path)
    finally:
        os.unlink(path)


@FUZZ
@given(payload=mutated(("wav", "mp4")))
def test_mutated_audio_and_video_get_library_errors_only(payload):
    _byte_parsers(payload)
    path = _as_file(payload)
    try:
        _path_parsers(path)
    finally:
        os.unlink(path)


@FUZZ
@given(payload=st.binary(max_size=4096))
def test_random_bytes_get_library_errors_only(payload):
    _byte_parsers(payload)
