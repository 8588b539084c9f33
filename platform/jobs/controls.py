"""The requester's controls for one job (gaze, head distance, emotion, intensity, seed), as the
form and the API send them and as the job row stores them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from core.errors import ApplicationError
from generator.config import Controls


def controls_from(value: Controls | Mapping) -> Controls:
    """Controls from a dataclass or a plain mapping (form / API), checked by the generator."""
    if isinstance(value, Controls):
        controls = value
    else:
        data = dict(value)
        gaze = data.get("gaze", (0.0, 0.0))
        try:
            controls = Controls(
                gaze=(float(gaze[0]), float(gaze[1])),
                head_distance=float(data.get("head_distance", 1.0)),
                emotion=str(data.get("emotion", "neutral")),
                intensity=float(data.get("intensity", 1.0)),
                seed=int(data.get("seed", 0)),
            )
        except (TypeError, ValueError, IndexError) as error:
            raise ApplicationError(f"Invalid controls: {error}", code="invalid_controls") from error
    return controls.validated()  # GeneratorError for values out of range


def controls_as_dict(controls: Controls) -> dict:
    data = asdict(controls)
    data["gaze"] = list(controls.gaze)
    return data
