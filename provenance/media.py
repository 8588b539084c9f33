"""Media I/O: sniffing, probing and reading images and videos under caps, and streaming MP4 writing.

Every reader checks the bytes before trusting them: the kind comes from magic bytes (never the file
name), dimensions and durations come from headers and are checked against `MediaLimits` before
anything is decoded, and truncation is detected by demuxing (cheap: no decoding) and comparing
what is really there with what the container promises. Any failure becomes a `MediaError`.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageOps

from provenance.errors import MediaError

# Sides beyond this are absurd for a portrait or a talking-face video whatever the pixel cap says
# (a 1 x 40,000,000 image passes a pixel cap but is an attack on the decoder, not a photo).
MAX_SIDE = 16_384
MAX_ASPECT_RATIO = 20.0
# How many header bytes the magic-byte sniffers need.
_SNIFF_BYTES = 64


@dataclass(frozen=True)
class MediaLimits:
    """Caps applied before decoding, so a hostile file costs a header read, not a worker."""

    max_bytes: int = 200 * 2**20
    max_seconds: float = 300.0
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` learned about a file. Images have duration 0, fps 0 and one frame."""

    kind: Literal["image", "video"]
    format: str  # png, jpeg, webp, mp4, mov, webm, mkv
    width: int
    height: int
    duration_s: float
    fps: float
    frame_count: int
    has_audio: bool


@dataclass(frozen=True)
class AudioTrack:
    """Mono audio: float32 samples in [-1, 1]."""

    samples: np.ndarray  # (N,) float32
    sample_rate: int


def _sniff_bytes(head: bytes) -> tuple[Literal["image", "video"], str] | None:
    """(kind, format) from the first bytes of a file, or None when no known signature matches."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML header; the DocType element says which flavour of Matroska it is.
        return "video", "webm" if b"webm" in head[:_SNIFF_BYTES] else "mkv"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"avif", b"mif1", b"msf1"):
            return None  # ISO-BMFF still images: not a format we accept
        return "video", "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video", "mov"  # old QuickTime files start without an ftyp box
    return None


def _file_head(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read {os.fspath(path)!r}: {exc.strerror}") from exc
    return head, size


def sniff_kind(path: str | os.PathLike[str]) -> Literal["image", "video"]:
    """Whether `path` holds an image or a video, judged by its bytes, never by its name."""
    head, size = _file_head(path)
    if size == 0:
        raise MediaError("the file is empty", code="empty_media")
    sniffed = _sniff_bytes(head)
    if sniffed is None:
        raise MediaError("not a supported image or video (unknown signature)")
    return sniffed[0]


def _check_dimensions(width: int, height: int, limits: MediaLimits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError(f"absurd dimensions {width}x{height}", code="absurd_dimensions")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MediaError(
            f"absurd dimensions {width}x{height} (max side {MAX_SIDE})", code="absurd_dimensions"
        )
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise MediaError(f"absurd aspect ratio {width}x{height}", code="absurd_dimensions")
    if width * height > limits.max_pixels:
        raise MediaError(
            f"{width}x{height} exceeds the cap of {limits.max_pixels} pixels",
            code="media_too_large",
        )


def _check_size(size: int, limits: MediaLimits) -> None:
    if size == 0:
        raise MediaError("the file is empty", code="empty_media")
    if size > limits.max_bytes:
        raise MediaError(
            f"{size} bytes exceeds the cap of {limits.max_bytes} bytes", code="media_too_large"
        )


def _open_image(source: str | os.PathLike[str] | bytes, limits: MediaLimits) -> Image.Image:
    """Open an image lazily (header only) after the byte, kind and dimension checks."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), limits)
        sniffed = _sniff_bytes(data[:_SNIFF_BYTES])
        fileobj: io.BufferedIOBase | str | os.PathLike[str] = io.BytesIO(data)
    else:
        head, size = _file_head(source)
        _check_size(size, limits)
        sniffed = _sniff_bytes(head)
        fileobj = source
    if sniffed is None or sniffed[0] != "image":
        raise MediaError("not a PNG, JPEG or WebP image")
    try:
        # PIL's own bomb guard would warn or raise its own type; ours runs first with our caps.
        image = Image.open(fileobj, formats=["PNG", "JPEG", "WEBP"])
    except Image.DecompressionBombError as exc:
        # PIL refuses past ~179 MP before we see the header: absurd by any measure.
        raise MediaError(f"absurd dimensions: {exc}", code="absurd_dimensions") from exc
    except (OSError, ValueError) as exc:
        raise MediaError(f"corrupt image: {exc}") from exc
    _check_dimensions(image.width, image.height, limits)
    return image


def _video_info(container: av.container.InputContainer, fmt: str, limits: MediaLimits) -> MediaInfo:
    """Header facts plus a demux pass (no decoding) that proves the promised packets are there."""
    if not container.streams.video:
        raise MediaError("the file has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # FFmpeg found a video stream but knows no codec for it
        raise MediaError("corrupt video: its stream has no codec FFmpeg can read")
    width, height = stream.codec_context.width, stream.codec_context.height
    _check_dimensions(width, height, limits)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if not (0.5 <= fps <= 240.0):
        raise MediaError(f"absurd frame rate {fps:.3g}")
    promised_s = 0.0
    if stream.duration is not None and stream.time_base is not None:
        promised_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        promised_s = container.duration / av.time_base
    if promised_s > limits.max_seconds:
        raise MediaError(
            f"{promised_s:.1f} s exceeds the cap of {limits.max_seconds:.0f} s",
            code="media_too_long",
        )
    max_packets = math.ceil(limits.max_seconds * fps) + 1
    packets, last_end_s = 0, 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the flush packet demux() yields at the end
            packets += 1
            if packets > max_packets:
                raise MediaError(
                    f"more than {limits.max_seconds:.0f} s of frames", code="media_too_long"
                )
            if packet.pts is not None and packet.time_base is not None:
                end = packet.pts + (packet.duration or 0)
                last_end_s = max(last_end_s, float(end * packet.time_base))
    except av.FFmpegError as exc:
        raise MediaError(f"corrupt video: {exc}") from exc
    if packets == 0:
        raise MediaError("the video has no frames (corrupt or truncated)")
    # An MP4/MOV index promises an exact frame count; Matroska promises a duration.
    if stream.frames and packets < stream.frames:
        raise MediaError(
            f"truncated video: {packets} of {stream.frames} frames present", code="truncated_media"
        )
    if (
        not stream.frames
        and promised_s > 0
        and last_end_s < promised_s - max(0.5, 0.05 * promised_s)
    ):
        raise MediaError(
            f"truncated video: {last_end_s:.1f} of {promised_s:.1f} s present",
            code="truncated_media",
        )
    duration_s = promised_s if promised_s > 0 else packets / fps
    return MediaInfo(
        kind="video",
        format=fmt,
        width=width,
        height=height,
        duration_s=duration_s,
        fps=fps,
        frame_count=packets,
        has_audio=bool(container.streams.audio),
    )


def _open_video(path: str | os.PathLike[str]) -> av.container.InputContainer:
    try:
        return av.open(os.fspath(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"corrupt video: {exc}") from exc


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in chunks; MediaError when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise MediaError(f"cannot read the file: {exc.strerror}") from exc


def probe(path: str | os.PathLike[str], limits: MediaLimits = MediaLimits()) -> MediaInfo:  # noqa: B008
    """Check a file against `limits` and describe it; MediaError for anything unusable.

    Images are fully decoded (cheap under the pixel cap) so that truncation shows here; videos are
    demuxed without decoding.
    """
    head, size = _file_head(path)
    _check_size(size, limits)
    sniffed = _sniff_bytes(head)
    if sniffed is None:
        raise MediaError("not a supported image or video (unknown signature)")
    kind, fmt = sniffed
    if kind == "image":
        with _open_image(path, limits) as image:
            try:
                image.load()
            except (OSError, ValueError, SyntaxError) as exc:
                raise MediaError(f"corrupt or truncated image: {exc}") from exc
            return MediaInfo("image", fmt, image.width, image.height, 0.0, 0.0, 1, False)
    with _open_video(path) as container:
        return _video_info(container, fmt, limits)


def read_image(
    path_or_bytes: str | os.PathLike[str] | bytes,
    limits: MediaLimits = MediaLimits(),  # noqa: B008
) -> np.ndarray:
    """Decode a PNG, JPEG or WebP into (H, W, 3) uint8 RGB, upright per its EXIF orientation."""
    with _open_image(path_or_bytes, limits) as image:
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:
            raise MediaError(f"corrupt or truncated image: {exc}") from exc
    return np.asarray(rgb, dtype=np.uint8).copy()  # (H, W, 3)


def iter_video_frames(
    path: str | os.PathLike[str],
    limits: MediaLimits = MediaLimits(),  # noqa: B008
) -> Iterator[np.ndarray]:
    """Yield every frame as (H, W, 3) uint8 RGB, one at a time, after `probe` accepted the file."""
    info = probe(path, limits)
    if info.kind != "video":
        raise MediaError("expected a video, got an image")
    with _open_video(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")  # (H, W, 3)
        except av.FFmpegError as exc:
            raise MediaError(f"corrupt video: {exc}") from exc


def video_frames_at(path: str | os.PathLike[str], indices: Iterable[int]) -> dict[int, np.ndarray]:
    """The frames at `indices` as (H, W, 3) uint8 RGB, by index; those the file lacks are absent.

    For a video `probe` has accepted (or one this package wrote): it checks no limits, so that
    callers who probed already do not demux the file twice (a probe of a 10-s clip: 14-27 ms).
    Decodes sequentially up to the last wanted frame (seeking lands on keyframes) and converts
    only the wanted frames to RGB: converting every frame costs twice the decoding itself
    (measured: 1.8 against 0.8 ms a 512x512 frame).
    """
    wanted = set(indices)
    kept: dict[int, np.ndarray] = {}
    if not wanted:
        return kept
    last = max(wanted)
    with _open_video(path) as container:
        if not container.streams.video:
            raise MediaError("expected a video, found no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    kept[index] = frame.to_ndarray(format="rgb24")  # (H, W, 3)
                if index >= last:
                    break
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"corrupt video: {exc}") from exc
    return kept


def sample_video_frames(
    path: str | os.PathLike[str],
    count: int,
    limits: MediaLimits = MediaLimits(),  # noqa: B008
) -> list[np.ndarray]:
    """`count` evenly spaced frames (the middle of each of `count` equal segments), RGB uint8.

    Decodes sequentially instead of seeking: seeking lands on keyframes, which would bias the
    sample, and decoding H.264 is cheap next to what callers do with the frames.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    info = probe(path, limits)
    if info.kind != "video":
        raise MediaError("expected a video, got an image")
    total = info.frame_count
    wanted = sorted({min(total - 1, int((i + 0.5) * total / count)) for i in range(count)})
    kept = video_frames_at(path, wanted)
    if not kept:
        raise MediaError("no decodable frames")
    return [kept[i] for i in sorted(kept)]


class Mp4Writer:
    """Streams RGB frames (and optional mono audio) into an H.264 + AAC MP4 with +faststart.

    Frames are encoded as they arrive; audio is interleaved up to each frame's end time, so
    neither the muxer nor this class ever buffers the whole clip. Audio beyond the last frame is
    dropped (a talking face has nothing to show over it). On an exception inside the `with`
    block the partial file is removed.
    """

    CRF = 21
    PRESET = "veryfast"
    AUDIO_BITRATE = 96_000
    _AAC_FRAME = 1024  # samples per AAC frame

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        width: int,
        height: int,
        fps: float,
        audio: AudioTrack | None,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise MediaError(f"H.264 yuv420p needs positive even sides, got {width}x{height}")
        if not (1.0 <= fps <= 120.0):
            raise MediaError(f"unsupported frame rate {fps}")
        if audio is not None:
            samples = np.asarray(audio.samples)
            if samples.ndim != 1 or audio.sample_rate <= 0:
                raise MediaError("audio must be mono (N,) samples with a positive sample rate")
        self.path = os.fspath(path)
        self.width, self.height = width, height
        self.fps = Fraction(fps).limit_denominator(1001)
        self.audio = audio
        self.frames_written = 0
        self._audio_pos = 0
        self._container: av.container.OutputContainer | None = None

    def __enter__(self) -> Mp4Writer:
        container = av.open(self.path, mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            video = container.add_stream("libx264", rate=self.fps)
            video.width, video.height = self.width, self.height
            video.pix_fmt = "yuv420p"
            video.options = {"preset": self.PRESET, "crf": str(self.CRF)}
            self._video = video
            if self.audio is not None:
                audio_stream = container.add_stream("aac", rate=self.audio.sample_rate)
                audio_stream.layout = "mono"
                audio_stream.bit_rate = self.AUDIO_BITRATE
                self._audio_stream = audio_stream
                self._samples = np.clip(np.asarray(self.audio.samples, np.float32), -1.0, 1.0)
        except Exception:
            container.close()
            raise
        self._container = container
        return self

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame, then the audio that plays until it ends."""
        if self._container is None:
            raise RuntimeError("Mp4Writer.write outside its `with` block")
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise MediaError(
                f"frame must be ({self.height}, {self.width}, 3) uint8, "
                f"got {frame.shape} {frame.dtype}"
            )
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        for packet in self._video.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1
        if self.audio is not None:
            self._write_audio_until(self.frames_written / self.fps)

    def _write_audio_until(self, seconds: Fraction) -> None:
        end = min(len(self._samples), int(seconds * self.audio.sample_rate))
        while self._audio_pos + self._AAC_FRAME <= end or (
            self._audio_pos < end == len(self._samples)
        ):
            chunk = self._samples[self._audio_pos : self._audio_pos + self._AAC_FRAME]
            audio_frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            audio_frame.sample_rate = self.audio.sample_rate
            audio_frame.pts = self._audio_pos
            for packet in self._audio_stream.encode(audio_frame):
                self._container.mux(packet)
            self._audio_pos += len(chunk)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        container, self._container = self._container, None
        if container is None:
            return
        try:
            if exc_type is None:
                if self.frames_written == 0:
                    raise MediaError("no frames were written")
                if self.audio is not None:
                    # The last partial AAC frame that still falls inside the video.
                    end = min(
                        len(self._samples),
                        int(self.frames_written / self.fps * self.audio.sample_rate),
                    )
                    if self._audio_pos < end:
                        self._samples = self._samples[:end]
                        self._write_audio_until(self.frames_written / self.fps)
                    for packet in self._audio_stream.encode():
                        container.mux(packet)
                for packet in self._video.encode():
                    container.mux(packet)
        except BaseException:
            container.close()
            _remove_quietly(self.path)
            raise
        container.close()
        if exc_type is not None:
            _remove_quietly(self.path)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
