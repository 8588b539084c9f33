"""Streaming MP4 writing (H.264 + AAC, +faststart): the only way this package writes video."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType

import av
import numpy as np

from provenance.errors import MediaError


@dataclass(frozen=True)
class AudioTrack:
    """Mono audio: float32 samples in [-1, 1]."""

    samples: np.ndarray  # (N,) float32
    sample_rate: int


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
