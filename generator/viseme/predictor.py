"""Load the trained viseme model and turn speech into per-video-frame mouth channels.

Offline `predict` and streaming `VisemeStream` run the same causal network on the same causal
log-mel frames, so they agree to float precision; streaming keeps each layer's causal cache and
runs only the new frames of every chunk, which keeps it cheap.

Timing: model output i (after the look-ahead shift) describes the 10 ms hop centred at
(i + 0.5) * 10 ms. Video frame k covers [k / fps, (k + 1) / fps) and takes the mean of the
outputs centred inside it (the nearest one when fps > 100).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from generator.audio import SAMPLE_RATE, AudioClip, frame_count
from generator.audio_features import HOP, WINDOW, log_mel, log_mel_unpadded
from generator.errors import GeneratorError
from generator.viseme.model import VisemeConfig, VisemeNet

MOUTH_CHANNELS = ("jaw_open", "lip_width", "lip_round")
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "viseme.pt"
OUTPUT_RATE = SAMPLE_RATE / HOP  # 100 model outputs per second


class VisemePredictor:
    """The learned audio-to-mouth model, ready for offline or streaming use."""

    def __init__(self, model: VisemeNet, device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.config = model.config
        # Frames of silence fed before the audio: one receptive field, so no output ever sees
        # the network's zero padding (training never showed it that; see train.py `warm`).
        self.warmup_frames = model.config.receptive_field - 1

    @classmethod
    def load(
        cls, checkpoint: str | os.PathLike | None = None, device: str = "cpu"
    ) -> VisemePredictor:
        """Load weights from `checkpoint` (default: generator/checkpoints/viseme.pt)."""
        path = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        if not path.is_file():
            raise GeneratorError(
                f"Viseme checkpoint not found: {path}", code="viseme_checkpoint_missing"
            )
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            raw = dict(payload["config"])
            raw["dilations"] = tuple(raw["dilations"])
            model = VisemeNet(VisemeConfig(**raw))
            model.load_state_dict(payload["state_dict"])
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise GeneratorError(
                f"Viseme checkpoint is unreadable: {path.name}", code="viseme_checkpoint_invalid"
            ) from exc
        return cls(model, device)

    @torch.inference_mode()
    def predict(self, clip: AudioClip, fps: float) -> np.ndarray:
        """Mouth channels for every video frame: (T, 3) float32 in [0, 1], T = frame_count."""
        n_frames = frame_count(clip.duration_s, fps)
        if n_frames == 0:
            return np.zeros((0, 3), np.float32)
        samples = torch.from_numpy(np.ascontiguousarray(clip.samples, dtype=np.float32))
        n_hops = math.ceil(samples.numel() / HOP)
        # Zeros after the clip feed the look-ahead of the last frames: exactly what flush() does.
        tail = n_hops * HOP - samples.numel() + self.config.lookahead * HOP
        # Zeros before it give the network a silent past, as every training crop had one.
        lead = self.warmup_frames * HOP
        features = log_mel(torch.nn.functional.pad(samples, (lead, tail)))  # (W + F + L, 80)
        mouth = self._run(features)[self.warmup_frames + self.config.lookahead :]  # (F, 3)
        return _to_video_frames(mouth.cpu().numpy(), 0, n_frames, fps, final=True)

    def streamer(self, fps: float) -> VisemeStream:
        """A fresh streaming session at `fps` video frames per second."""
        return VisemeStream(self, fps)

    def _run(self, features: torch.Tensor) -> torch.Tensor:
        """(F, 80) log-mel -> (F, 3) mouth channels (raw causal outputs, not yet shifted)."""
        _, mouth = self.model(features.to(self.device)[None])  # (1, F, 3)
        return mouth[0]


class VisemeStream:
    """Incremental predictor: push 16 kHz chunks, receive rows for frames that are now final.

    A frame is final once the audio 60 ms (the model's look-ahead) past its end has arrived,
    so with 40 ms chunks at 25 fps the first row comes out after the third chunk.
    """

    def __init__(self, predictor: VisemePredictor, fps: float) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.predictor = predictor
        self.fps = fps
        config = predictor.config
        self._lookahead = config.lookahead
        self._context = torch.zeros(WINDOW - HOP)  # audio before the clip is silence
        self._pending = np.zeros(0, np.float32)  # samples not yet making a whole hop
        self._state = predictor.model.initial_state()  # per-layer causal caches
        self._n_raw = 0  # causal outputs computed so far
        self._mouth = np.zeros((0, 3), np.float32)  # shifted 100 Hz outputs not yet used up
        self._mouth_start = 0  # absolute 100 Hz index of self._mouth[0]
        self._n_samples = 0
        self._emitted = 0  # video frames returned so far
        self._finished = False
        self._skip = predictor.warmup_frames + self._lookahead  # raw outputs before frame 0
        self._consume(np.zeros(predictor.warmup_frames * HOP, np.float32))  # the silent past

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed the next chunk of 16 kHz mono float32 audio; returns (k, 3) newly final rows."""
        if self._finished:
            raise GeneratorError("This viseme stream is already flushed.", code="stream_closed")
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._n_samples += len(chunk)
        self._consume(chunk)
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """End of audio: pad with silence like the offline path and return every remaining row."""
        if self._finished:
            return np.zeros((0, 3), np.float32)
        n_hops = math.ceil(self._n_samples / HOP)
        tail = n_hops * HOP - self._n_samples + self._lookahead * HOP
        self._consume(np.zeros(tail, np.float32))
        self._finished = True
        return self._emit(final=True)

    @torch.inference_mode()
    def _consume(self, chunk: np.ndarray) -> None:
        audio = np.concatenate([self._pending, chunk])
        n_hops = len(audio) // HOP
        self._pending = audio[n_hops * HOP :]
        if n_hops == 0:
            return
        buffer = torch.cat([self._context, torch.from_numpy(audio[: n_hops * HOP].copy())])
        new_features = log_mel_unpadded(buffer)  # (n_hops, 80)
        self._context = buffer[-(WINDOW - HOP) :]
        # Only the new frames go through the network; each layer's cache holds its past.
        device = self.predictor.device
        _, mouth, self._state = self.predictor.model.step(
            new_features.to(device)[None], self._state
        )
        mouth = mouth[0].cpu().numpy()  # (n_hops, 3)
        self._n_raw += len(mouth)

        shifted_from = max(0, self._skip - (self._n_raw - len(mouth)))
        if shifted_from < len(mouth):
            self._mouth = np.concatenate([self._mouth, mouth[shifted_from:]])

    def _emit(self, *, final: bool) -> np.ndarray:
        total = frame_count(self._n_samples / SAMPLE_RATE, self.fps) if final else None
        rows = _to_video_frames(
            self._mouth, self._emitted, total, self.fps, final=final, offset=self._mouth_start
        )
        self._emitted += len(rows)
        # Drop rows no future frame can use, so a long stream keeps constant memory. One row
        # is kept before the next frame's span: at the end, frames clamp to the last row.
        keep_from = max(self._mouth_start, _frame_span(self._emitted, self.fps)[0] - 1)
        keep_from = min(keep_from, self._mouth_start + max(0, len(self._mouth) - 1))
        self._mouth = self._mouth[keep_from - self._mouth_start :]
        self._mouth_start = keep_from
        return rows


CLOSURE_LEVEL = 0.12  # jaw_open under this in a 100 Hz row is lips meeting (a bilabial)


def _frame_span(k: int, fps: float) -> tuple[int, int]:
    """Output indices [lo, hi) whose centres fall in video frame k; (nearest, nearest+1) if none."""
    lo = math.ceil(k * OUTPUT_RATE / fps - 0.5 - 1e-9)
    hi = math.ceil((k + 1) * OUTPUT_RATE / fps - 0.5 - 1e-9)
    if hi <= lo:
        nearest = max(0, int(math.floor((k + 0.5) * OUTPUT_RATE / fps)))
        return nearest, nearest + 1
    return max(0, lo), hi


def _to_video_frames(
    mouth: np.ndarray, first: int, stop: int | None, fps: float, *, final: bool, offset: int = 0
) -> np.ndarray:
    """Average 100 Hz rows into video frames first..stop-1 (or as many as are complete).

    `mouth[0]` is absolute 100 Hz row `offset`; at the end (`final`) frames past the last row
    reuse it.
    """
    available = offset + len(mouth)  # absolute index one past the last row
    rows = []
    k = first
    while stop is None or k < stop:
        lo, hi = _frame_span(k, fps)
        if not final and hi > available:
            break
        lo, hi = min(lo, available - 1), min(hi, available)
        if hi <= lo:
            hi = lo + 1
        span = mouth[lo - offset : hi - offset]  # (n, 3) rows inside this video frame
        row = span.mean(axis=0)
        # A /p b m/ closure lasts 30-40 ms, under one 40-ms frame: averaged, it would
        # never show. The jaw takes the span's narrowest row when that row is a closure.
        closure = float(span[:, 0].min())
        if closure < CLOSURE_LEVEL:
            row[0] = closure
        rows.append(row)
        k += 1
    if not rows:
        return np.zeros((0, 3), np.float32)
    return np.clip(np.stack(rows), 0.0, 1.0).astype(np.float32)  # (k, 3)
