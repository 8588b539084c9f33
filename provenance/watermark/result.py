"""What watermark detection answers: one value for every caller of `detect_sampled`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WatermarkDetection:
    """What the frames say. `identified` only when the false-positive bound is <= 1e-9.

    `method`: how it identified ("decoded" blind, "registry_match" against every known payload,
    "candidate_match" against the caller's candidates alone), "" when it did not.
    `partial_record_id`: a known payload the frames agree with beyond 1e-6 but short of the bound
    (a still frame carries one word, so it can point at a record, never prove it).
    `candidate_matches`: each candidate's evidence when none identified: (record id, bit
    agreement with its payload, the bound for that one record alone).
    `frame_agreement`: a timeline, one value per frame at `frame_positions`, against the payload
    identified (or the partial or best candidate's); empty when there is none to compare with.
    """

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of the 96 codeword bits that agree with the payload read
    false_positive_probability: float  # union bound over every hypothesis, over its share
    frames_used: int
    method: str = ""
    partial_record_id: int | None = None
    partial_false_positive: float = 1.0
    candidate_matches: tuple[tuple[int, float, float], ...] = ()
    reading: str = ""  # how the frames were looked at: straight, mirrored, zoomed_out, luma, ...
    frame_positions: tuple[int, ...] = ()  # the deciding look's frames, their index in the clip
    frame_agreement: tuple[float, ...] = ()  # each one's bit agreement with the payload found
