"""What the look loop keeps between tries: each reading's logits, decoded lazily, the best
known-payload evidence so far, and the per-frame timeline of the answer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from provenance.payload import WORD_BITS, codeword_bits

from .estimate import frame_agreement
from .known import KnownMatch
from .readings import Reading
from .result import WatermarkDetection
from .rivagan import frame_logits


@dataclass
class LookEvidence:
    """The best look so far at known payloads: the frames it read and how well they matched."""

    match: KnownMatch | None = None
    logits: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, WORD_BITS), np.float32)
    )
    runs: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    look: list[int] = dataclasses.field(default_factory=list)
    reading: str = ""

    def offer(
        self,
        match: KnownMatch | None,
        logits: np.ndarray,
        runs: np.ndarray,
        look: list[int],
        reading: str,
    ) -> None:
        """Keep this look when it explains the frames better: a known payload at a lower bound,
        or, with none known, the first reading's later (larger) look."""
        if match is not None:
            better = self.match is None or match.false_positive < self.match.false_positive
        else:
            better = self.match is None and reading == self.reading
        if not len(self.logits) or better:
            self.match, self.logits, self.runs, self.look = match, logits, runs, look
            self.reading = reading


def read_logits(
    decoded: dict[str, LazyLogits],
    reading: Reading,
    frames: list[np.ndarray],
    look: list[int],
) -> np.ndarray:
    """The decoder logits of `look`'s frames in `reading`, (k, 32): each reading decodes a frame
    once, when a look first needs it."""
    if reading.name not in decoded:
        decoded[reading.name] = LazyLogits(frames, reading)
    return decoded[reading.name].logits(look)


class LazyLogits:
    """One reading's decoder logits of a clip's sampled frames, decoded as looks ask for them."""

    def __init__(self, frames: list[np.ndarray], reading: Reading) -> None:
        self.frames, self.reading = frames, reading
        self.values = np.zeros((len(frames), WORD_BITS), np.float32)  # (n, 32), filled as read
        self.done: set[int] = set()

    def logits(self, look: list[int]) -> np.ndarray:
        fresh = [i for i in look if i not in self.done]
        if fresh:
            frames = [self.frames[i] for i in fresh]
            self.values[fresh] = frame_logits(frames, self.reading.edit)  # (k, 32)
            self.done.update(fresh)
        return self.values[look]


def with_timeline(
    detection: WatermarkDetection,
    logits: np.ndarray,
    runs: np.ndarray,
    times: np.ndarray,
    key: bytes,
    payload_hex: str | None = None,
) -> WatermarkDetection:
    """`detection` with the per-frame agreement timeline against the payload it found (or
    `payload_hex`, the best evidence it has), over the frames of the look that decided."""
    payload_hex = detection.value_hex or payload_hex
    if payload_hex is None or len(logits) == 0:
        return dataclasses.replace(detection, frame_positions=tuple(int(t) for t in times))
    codeword = codeword_bits(int(payload_hex, 16), key)  # (96,)
    agreement = frame_agreement(logits, runs, codeword)  # (k,)
    return dataclasses.replace(
        detection,
        frame_positions=tuple(int(t) for t in times),
        frame_agreement=tuple(round(float(a), 4) for a in agreement),
    )


def identified_detection(
    match: KnownMatch, share: float, frames_used: int, method: str, reading: str
) -> WatermarkDetection:
    return WatermarkDetection(
        reading=reading,
        identified=True,
        record_id=match.payload.record_id,
        value_hex=match.payload.payload_hex,
        confidence=match.agreement,
        false_positive_probability=match.false_positive / share,
        frames_used=frames_used,
        method=method,
    )
