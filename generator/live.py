"""Live mode: a push-driven renderer fed by audio chunks as they arrive from the network.

`generator.stream` pulls chunks from an iterator, which suits a file but not a WebRTC track:
there the audio arrives in callbacks, and the caller needs each frame the moment it is final,
plus a way to stop between two chunks. `LiveRenderer` is the same machinery (the streaming
viseme predictor, the causal motion model, the renderer on the appearance provenance hands in)
behind `push(chunk) -> frames` and `flush()`. It keeps the mouth row of every frame it made,
so the frames can be made again, bit for bit, with `replay` (the recording does this instead of
holding a minute of raw frames in memory).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from generator.audio import SAMPLE_RATE
from generator.config import Controls, RenderConfig
from generator.errors import AudioError, GeneratorError
from generator.face_analysis import PortraitAnalysis
from generator.motion import MotionModel
from generator.pipeline import (
    AppearanceSource,
    _canvas,
    _check_analysis,
    _frames,
    _one_torch_thread,
    _predictor,
)
from generator.renderer import FaceRenderer


@dataclass(frozen=True)
class LiveFrame:
    """One frame of a live session: its index from 0 and its (512, 512, 3) uint8 RGB pixels."""

    index: int
    pixels: np.ndarray  # (512, 512, 3) uint8


class LiveRenderer:
    """Online VASA-1 loop for one session: audio chunks in, final frames out, in order.

    Frame i is final once the viseme model's 60 ms look-ahead past its end has arrived, so a
    40 ms chunk at 25 fps yields about one frame, after a start-up of three chunks.
    """

    def __init__(
        self,
        analysis: PortraitAnalysis,
        controls: Controls = Controls(),  # noqa: B008 - frozen dataclass, safe as a default
        config: RenderConfig = RenderConfig(),  # noqa: B008
        *,
        appearance: AppearanceSource | None = None,
    ) -> None:
        self.controls, self.config = controls.validated(), config.validated()
        _check_analysis(analysis)
        self.analysis = analysis
        self.appearance = appearance
        self._motion = MotionModel(self.controls, self.config.fps)
        self._renderer = FaceRenderer(analysis, head_distance=self.controls.head_distance)
        self._streamer = _predictor().streamer(self.config.fps)
        self._rows: list[np.ndarray] = []  # (3,) mouth row of every frame made so far
        self._closed = False

    @property
    def frames_made(self) -> int:
        return len(self._rows)

    @property
    def mouth_rows(self) -> np.ndarray:
        """(T, 3) float32: the viseme rows of every frame made so far, in order."""
        return np.array(self._rows, np.float32).reshape(-1, 3)

    def push(self, samples: np.ndarray) -> list[LiveFrame]:
        """Feed 16 kHz mono float32 samples; return the frames that became final (maybe none)."""
        if self._closed:
            raise GeneratorError("this live session has ended", code="stream_closed")
        chunk = np.asarray(samples, dtype=np.float32)
        if chunk.ndim != 1:
            raise AudioError(f"audio chunks must be mono (N,) float32 at {SAMPLE_RATE} Hz")
        with _one_torch_thread():
            rows = self._streamer.push(chunk)  # (k, 3)
        return [self._render(row) for row in rows]

    def flush(self) -> list[LiveFrame]:
        """End of audio: the frames still waiting for look-ahead, padded with silence."""
        if self._closed:
            return []
        with _one_torch_thread():
            rows = self._streamer.flush()  # (k, 3)
        self._closed = True
        return [self._render(row) for row in rows]

    def _render(self, row: np.ndarray) -> LiveFrame:
        index = len(self._rows)
        self._rows.append(np.asarray(row, np.float32).copy())
        latent = self._motion.step(row)  # (C,)
        canvas = _canvas(self.analysis, self.appearance, index)  # (512, 512, 3)
        return LiveFrame(index=index, pixels=self._renderer.render(latent, canvas))

    def replay(self) -> Iterator[np.ndarray]:
        """The frames made so far, made again: the same pixels, since every stage is a pure
        function of the portrait, the appearance, the seed and the mouth rows."""
        motion = MotionModel(self.controls, self.config.fps)
        renderer = FaceRenderer(self.analysis, head_distance=self.controls.head_distance)
        return _frames(renderer, motion, self.mouth_rows, self.analysis, self.appearance)
