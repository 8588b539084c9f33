"""Values that steer one render: VASA-1's control signals and the output format.

`Controls` are the conditioning signals VASA-1 exposes (main gaze direction, head distance,
emotion offset) plus motion intensity and a seed; `RenderConfig` is the output format and the
input caps that keep a hostile portrait from exhausting memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from generator.errors import GeneratorError

EMOTIONS = ("neutral", "happy", "serious")


@dataclass(frozen=True)
class Controls:
    """Per-render conditioning; same inputs and seed give the same frames."""

    gaze: tuple[float, float] = (
        0.0,
        0.0,
    )  # main gaze direction x (right +), y (down +), in [-1, 1]
    head_distance: float = 1.0  # relative head scale, 0.8 (far) .. 1.25 (near)
    emotion: str = "neutral"  # one of EMOTIONS
    intensity: float = 1.0  # motion intensity, 0 (still) .. 2 (animated)
    seed: int = 0  # seeds blinks, saccades and idle head motion

    def validated(self) -> Controls:
        """Return self when every control is in range, else raise GeneratorError saying which."""
        if len(self.gaze) != 2 or not all(_finite_in(g, -1.0, 1.0) for g in self.gaze):
            raise GeneratorError(
                f"gaze must be two numbers in [-1, 1], got {self.gaze!r}", code="invalid_controls"
            )
        if not _finite_in(self.head_distance, 0.8, 1.25):
            raise GeneratorError(
                f"head_distance must be in [0.8, 1.25], got {self.head_distance!r}",
                code="invalid_controls",
            )
        if self.emotion not in EMOTIONS:
            raise GeneratorError(
                f"emotion must be one of {', '.join(EMOTIONS)}, got {self.emotion!r}",
                code="invalid_controls",
            )
        if not _finite_in(self.intensity, 0.0, 2.0):
            raise GeneratorError(
                f"intensity must be in [0, 2], got {self.intensity!r}", code="invalid_controls"
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise GeneratorError(
                f"seed must be a non-negative integer, got {self.seed!r}", code="invalid_controls"
            )
        return self


@dataclass(frozen=True)
class RenderConfig:
    """Output format and input caps."""

    fps: float = 25.0  # output frame rate
    size: int = 512  # output frames are size x size; the aligned canvas is always 512
    max_pixels: int = 40_000_000  # decompression-bomb cap for portraits
    min_face_px: int = 80  # smallest detected face width accepted, in source pixels

    def validated(self) -> RenderConfig:
        """Return self when the format is usable, else raise GeneratorError."""
        if not _finite_in(self.fps, 1.0, 120.0):
            raise GeneratorError(
                f"fps must be in [1, 120], got {self.fps!r}", code="invalid_config"
            )
        if self.size != 512:
            # The flow bases, mouth and eye geometry are laid out on the 512 canvas; other sizes
            # would need a resize per frame that the platform can do itself after publishing.
            raise GeneratorError(f"size must be 512, got {self.size!r}", code="invalid_config")
        if self.max_pixels <= 0 or self.min_face_px <= 0:
            raise GeneratorError(
                "max_pixels and min_face_px must be positive", code="invalid_config"
            )
        return self


def _finite_in(value: object, low: float, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )
