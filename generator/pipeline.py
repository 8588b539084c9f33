"""Pipeline: portrait analysis + speech in, 512x512 RGB frames out (offline and streaming).

Orchestrates VASA-1's stages: the learned audio-to-viseme model gives mouth rows, the motion
model turns them into holistic latents, the renderer warps the portrait (or the watermarked
canvas the provenance library hands in) into frames. Frames are yielded one at a time and
never written anywhere: encoding, marking and signing are the provenance pipeline's job.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol

import cv2
import numpy as np
import torch

from generator.audio import AudioClip, frame_count
from generator.config import Controls, RenderConfig
from generator.errors import AudioError, GeneratorError
from generator.face_analysis import CANVAS, PortraitAnalysis
from generator.motion import MotionModel
from generator.renderer import FaceRenderer
from generator.viseme import VisemePredictor

PIPELINE_DEPTH = 2  # frames in flight in offline mode: one warping, one being built


class AppearanceSource(Protocol):
    """Where each frame's pixels come from: e.g. the watermarked aligned canvas."""

    def for_frame(self, index: int) -> np.ndarray:
        """(512, 512, 3) uint8 RGB, same geometry as PortraitAnalysis.aligned."""
        ...


def render(
    analysis: PortraitAnalysis,
    audio: AudioClip,
    controls: Controls = Controls(),  # noqa: B008 - frozen dataclass, safe as a default
    config: RenderConfig = RenderConfig(),  # noqa: B008
    *,
    appearance: AppearanceSource | None = None,
) -> Iterator[np.ndarray]:
    """Offline mode: yields frame_count(audio.duration_s, fps) (512, 512, 3) uint8 RGB frames.

    Inputs are checked before the first frame (GeneratorError subclasses); frames are made
    lazily, so a 60 s clip never holds more than one frame.
    """
    controls, config = controls.validated(), config.validated()
    _check_analysis(analysis)
    if audio.samples.ndim != 1:
        raise AudioError("audio samples must be mono (N,)")
    n_frames = frame_count(audio.duration_s, config.fps)
    if n_frames == 0:
        raise AudioError("the audio is empty: not one video frame long")
    with _one_torch_thread():
        mouth = _predictor().predict(audio, config.fps)  # (T, 3)
    mouth = _fit(mouth, n_frames)
    motion = MotionModel(controls, config.fps)
    renderer = FaceRenderer(analysis, head_distance=controls.head_distance)
    return _frames(renderer, motion, mouth, analysis, appearance)


def stream(
    analysis: PortraitAnalysis,
    audio_chunks: Iterable[np.ndarray],
    controls: Controls = Controls(),  # noqa: B008
    config: RenderConfig = RenderConfig(),  # noqa: B008
    *,
    appearance: AppearanceSource | None = None,
) -> Iterator[np.ndarray]:
    """Online mode: consume 16 kHz mono float32 chunks, yield frames as soon as they are final.

    A frame is final once the viseme model's look-ahead (60 ms) past its end has arrived;
    the motion model is causal, so frames match `render` on the same audio and seed.
    """
    controls, config = controls.validated(), config.validated()
    _check_analysis(analysis)
    motion = MotionModel(controls, config.fps)
    renderer = FaceRenderer(analysis, head_distance=controls.head_distance)
    streamer = _predictor().streamer(config.fps)
    return _stream_frames(renderer, motion, streamer, audio_chunks, analysis, appearance)


def _frames(
    renderer: FaceRenderer,
    motion: MotionModel,
    mouth: np.ndarray,
    analysis: PortraitAnalysis,
    appearance: AppearanceSource | None,
) -> Iterator[np.ndarray]:
    """Two-stage pipeline: frame t's warp runs on a worker while frame t+1's flow is built.

    Both halves are pure functions of their inputs, so frames are the same as sequential
    rendering, in order; at most PIPELINE_DEPTH frames are in flight (never the whole clip).
    The two threads are the parallelism: OpenCV's own pool is held at one thread until the
    generator ends, as its workers would only contend with them for the cores.
    """
    with _one_opencv_thread(), ThreadPoolExecutor(1, thread_name_prefix="warp") as warper:
        in_flight: deque[Future[np.ndarray]] = deque()
        for index, row in enumerate(mouth):
            canvas = _canvas(analysis, appearance, index)
            coords, overlays = renderer.grid_offsets(motion.step(row))
            in_flight.append(warper.submit(renderer.compose, canvas, coords, overlays))
            if len(in_flight) >= PIPELINE_DEPTH:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _stream_frames(
    renderer: FaceRenderer,
    motion: MotionModel,
    streamer,  # noqa: ANN001 - generator.viseme.VisemeStream
    audio_chunks: Iterable[np.ndarray],
    analysis: PortraitAnalysis,
    appearance: AppearanceSource | None,
) -> Iterator[np.ndarray]:
    index = 0
    for chunk in audio_chunks:
        samples = np.asarray(chunk, dtype=np.float32)
        if samples.ndim != 1:
            raise AudioError("audio chunks must be mono (N,) float32 at 16 kHz")
        with _one_torch_thread():
            rows = streamer.push(samples)  # (k, 3)
        for row in rows:
            yield renderer.render(motion.step(row), _canvas(analysis, appearance, index))
            index += 1
    with _one_torch_thread():
        rows = streamer.flush()
    for row in rows:
        yield renderer.render(motion.step(row), _canvas(analysis, appearance, index))
        index += 1


def _canvas(
    analysis: PortraitAnalysis, appearance: AppearanceSource | None, index: int
) -> np.ndarray:
    if appearance is None:
        return analysis.aligned
    canvas = appearance.for_frame(index)
    if canvas.shape != (CANVAS, CANVAS, 3) or canvas.dtype != np.uint8:
        raise GeneratorError(
            f"appearance canvas must be (512, 512, 3) uint8, got {canvas.shape} {canvas.dtype}",
            code="invalid_appearance",
        )
    return canvas


def _check_analysis(analysis: PortraitAnalysis) -> None:
    if analysis.aligned.shape != (CANVAS, CANVAS, 3) or analysis.landmarks.shape != (68, 2):
        raise GeneratorError(
            "not a PortraitAnalysis from analyse_portrait", code="invalid_analysis"
        )


def _fit(mouth: np.ndarray, n_frames: int) -> np.ndarray:
    """Trim or pad (closed mouth) the predictor's rows to exactly n_frames."""
    mouth = np.asarray(mouth, dtype=np.float32).reshape(-1, 3)[:n_frames]
    if len(mouth) < n_frames:
        rest = np.tile(np.array([[0.0, 0.5, 0.0]], np.float32), (n_frames - len(mouth), 1))
        mouth = np.concatenate([mouth, rest])
    return mouth


def load_models() -> None:
    """Load every model a job uses now (dlib's detector and face models, the face mesh, the
    viseme predictor): a worker does it once at start, so no job pays ~1.5 s of loading."""
    from generator import face_analysis, landmarks

    face_analysis.load_models()
    landmarks.default_provider()  # builds the MediaPipe graph (cached per process)
    _predictor()


@lru_cache(maxsize=1)
def _predictor() -> VisemePredictor:
    # CUDA when present: the same torch model; frames stay numpy/OpenCV on the CPU.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return VisemePredictor.load(device=device)


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Small torch ops run up to 40x slower with 2 threads under load; use 1, then restore."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


_opencv_lock = threading.Lock()
_opencv_users = 0
_opencv_previous = 0


@contextmanager
def _one_opencv_thread() -> Iterator[None]:
    """OpenCV at one thread while any offline render runs, then as it was.

    On 2 cores OpenCV's pool workers only contend with the pipeline's two threads: one
    thread gave 97-112 frames per CPU-second against 86-106 with two (astronaut, before the
    painter and inverse were made cheaper). Counted, so overlapping renders restore the
    setting only when the last one ends. Frames do not depend on it (OpenCV splits by rows).
    """
    global _opencv_users, _opencv_previous
    with _opencv_lock:
        if _opencv_users == 0:
            _opencv_previous = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _opencv_users += 1
    try:
        yield
    finally:
        with _opencv_lock:
            _opencv_users -= 1
            if _opencv_users == 0:
                cv2.setNumThreads(_opencv_previous)
