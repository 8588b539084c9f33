"""Media I/O: sniffing by content, probing under caps, readers, and the streaming MP4 writer."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from provenance.errors import MediaError
from provenance.media import (
    MediaLimits,
    Mp4Writer,
    iter_video_frames,
    probe,
    read_image,
    sample_video_frames,
    sniff_kind,
    video_frames_at,
)
from tests.provenance import conftest_media as media_fixtures
from tests.provenance.conftest_media import moving_frames, portrait, write_matroska, write_mp4

# Fixtures shared with test_c2pa.py and test_publish.py (conftest.py is the watermark tests').
small_mp4 = media_fixtures.small_mp4


def _png_header_only(width: int, height: int) -> bytes:
    """A syntactically valid PNG whose header claims `width` x `height` (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_it_sniffs_a_video_named_like_an_image(small_mp4: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(small_mp4.read_bytes())
    assert sniff_kind(disguised) == "video"
    assert probe(disguised).format == "mp4"


def test_it_sniffs_an_image_named_like_a_video(tmp_path: Path) -> None:
    disguised = tmp_path / "clip.mp4"
    Image.fromarray(portrait()).save(disguised, format="PNG")
    assert sniff_kind(disguised) == "image"
    assert read_image(disguised).shape == (128, 128, 3)


def test_it_rejects_a_text_file_named_like_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(MediaError):
        sniff_kind(fake)
    with pytest.raises(MediaError):
        probe(fake)


def test_it_rejects_a_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as raised:
        probe(empty)
    assert raised.value.code == "empty_media"
    with pytest.raises(MediaError):
        read_image(b"")


def test_it_rejects_a_truncated_video(small_mp4: Path, tmp_path: Path) -> None:
    data = small_mp4.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError):
        probe(truncated)
    with pytest.raises(MediaError):
        sample_video_frames(truncated, 4)


def test_it_rejects_a_video_whose_body_is_garbage(small_mp4: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(small_mp4.read_bytes()[:32] + bytes(range(256)) * 40)
    with pytest.raises(MediaError):
        probe(corrupt)


def test_it_rejects_a_truncated_image(tmp_path: Path) -> None:
    path = tmp_path / "portrait.png"
    Image.fromarray(portrait()).save(path, format="PNG")
    data = path.read_bytes()
    with pytest.raises(MediaError):
        read_image(data[: len(data) // 2])


def test_it_rejects_absurd_image_dimensions_before_decoding() -> None:
    with pytest.raises(MediaError) as raised:
        read_image(_png_header_only(100_000, 100_000))
    assert raised.value.code == "absurd_dimensions"


def test_it_rejects_an_image_over_the_pixel_cap() -> None:
    with pytest.raises(MediaError) as raised:
        read_image(_png_header_only(8_000, 8_000))  # 64 MP against the 40 MP default cap
    assert raised.value.code == "media_too_large"


def test_it_rejects_a_video_of_absurd_aspect_ratio(tmp_path: Path) -> None:
    sliver = write_mp4(tmp_path / "sliver.mp4", [np.zeros((4, 128, 3), np.uint8)] * 3)
    with pytest.raises(MediaError) as raised:
        probe(sliver)
    assert raised.value.code == "absurd_dimensions"


def test_it_rejects_a_video_over_the_duration_cap(small_mp4: Path) -> None:
    with pytest.raises(MediaError) as raised:
        probe(small_mp4, MediaLimits(max_seconds=1.0))
    assert raised.value.code == "media_too_long"


def test_it_rejects_a_file_over_the_byte_cap(small_mp4: Path) -> None:
    with pytest.raises(MediaError) as raised:
        probe(small_mp4, MediaLimits(max_bytes=1_000))
    assert raised.value.code == "media_too_large"


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "WEBP"])
def test_it_reads_images_as_rgb_uint8(tmp_path: Path, pil_format: str) -> None:
    path = tmp_path / "portrait.bin"
    Image.fromarray(portrait()).save(path, format=pil_format, quality=95)
    pixels = read_image(path)
    assert pixels.shape == (128, 128, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - portrait().astype(int)).mean() < 6
    assert read_image(path.read_bytes()).shape == (128, 128, 3)


def test_the_writer_makes_faststart_h264_yuv420p_with_aac(small_mp4: Path) -> None:
    data = small_mp4.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first
    with av.open(str(small_mp4)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert audio.codec_context.name == "aac"


def test_it_probes_frames_duration_and_audio(small_mp4: Path) -> None:
    info = probe(small_mp4)
    assert (info.kind, info.width, info.height) == ("video", 128, 128)
    assert info.frame_count == 50 and info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.has_audio


def test_it_samples_evenly_spaced_frames_in_order(small_mp4: Path) -> None:
    frames = sample_video_frames(small_mp4, 5)
    assert len(frames) == 5
    means = [float(frame.mean()) for frame in frames]
    assert means == sorted(means)  # the fixture brightens frame by frame
    expected = [float(moving_frames(50)[i].mean()) for i in (5, 15, 25, 35, 45)]
    assert np.allclose(means, expected, atol=4)


def test_frames_by_index_are_the_sequential_decodes_frames(small_mp4: Path) -> None:
    """Converted on a second thread while decoding goes on, each frame is still its own index's,
    pixel for pixel; an index past the end is absent."""
    every = list(iter_video_frames(small_mp4))  # (50,) frames
    wanted = [0, 3, 4, 17, 31, 48, 49, 60]
    kept = video_frames_at(small_mp4, wanted)
    assert sorted(kept) == wanted[:-1]
    assert all(np.array_equal(kept[i], every[i]) for i in kept)


def test_it_iterates_every_frame(small_mp4: Path) -> None:
    assert sum(1 for _ in iter_video_frames(small_mp4)) == 50


@pytest.mark.parametrize(("container_format", "expected"), [("webm", "webm"), ("matroska", "mkv")])
def test_it_reads_matroska_videos(tmp_path: Path, container_format: str, expected: str) -> None:
    path = write_matroska(tmp_path / "clip.bin", moving_frames(25), container_format)
    info = probe(path)
    assert (info.format, info.frame_count) == (expected, 25)
    assert len(sample_video_frames(path, 3)) == 3


def test_the_writer_leaves_no_file_when_the_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "partial.mp4"
    with (
        pytest.raises(RuntimeError),
        Mp4Writer(path, width=128, height=128, fps=25, audio=None) as w,
    ):
        w.write(portrait())
        raise RuntimeError("the renderer died")
    assert not path.exists()


def test_the_writer_rejects_a_frame_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "wrong.mp4"
    with pytest.raises(MediaError), Mp4Writer(path, width=128, height=128, fps=25, audio=None) as w:
        w.write(np.zeros((64, 64, 3), np.uint8))
    assert not path.exists()


@pytest.mark.parametrize(
    ("head", "kind", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(8), "image", "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(8), "image", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "image/webp"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video", "video/webm"),
        (b"\x00\x00\x00\x18ftypisom", "video", "video/mp4"),
    ],
)
def test_the_one_sniffer_names_kind_and_media_type_from_the_bytes(head, kind, media_type):
    from provenance.media import sniff_bytes

    sniffed = sniff_bytes(head)
    assert (sniffed.kind, sniffed.media_type) == (kind, media_type)


def test_the_sniffer_refuses_heic_and_unknown_bytes():
    from provenance.media import sniff_bytes

    assert sniff_bytes(b"\x00\x00\x00\x18ftypheic") is None
    assert sniff_bytes(b"GIF89a" + bytes(10)) is None
