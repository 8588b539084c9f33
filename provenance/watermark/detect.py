"""Detection: decode sampled frames, undo the schedule, correct with BCH, identify under a bound."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import WatermarkError
from provenance.payload import (
    BCH_T,
    CODEWORD_BITS,
    DATA_WORDS,
    RECORD_ID_BITS,
    WORD_BITS,
    WORD_COUNT,
    WatermarkPayload,
    codeword_bits,
    decode_codeword,
    payload_for_record,
)

from .bounds import MAX_FALSE_POSITIVE, binomial_false_positive, soft_false_positive
from .rivagan import frame_logits
from .schedule import (
    EARLY_FRAMES,
    GROUPINGS,
    SCHEDULE_FPS,
    detection_looks,
    holds_every_word,
    in_word_order,
    run_at,
    run_of,
    sample_positions,
    second_look_positions,
)

EARLY_LOOK_SHARE = 0.02  # of the 1e-9 budget, for that look (see detect_watermark)
# Chase-II flips every subset of the 8 least reliable bits: 256 BCH decodes per grouping, 24
# groupings, ~0.2 s a look that does not identify. With 4 bits, half-size copies whose bound
# passed at 7 wrong bits were missed: BCH alone corrects 4 (measured on bench clips).
CHASE_BITS = 8
# Every valid record id, times the groupings tried.
BLIND_HYPOTHESES = 2**RECORD_ID_BITS * GROUPINGS


@dataclass(frozen=True)
class WatermarkDetection:
    """What the frames say. `identified` only when the false-positive bound is <= 1e-9."""

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of the 96 codeword bits that agree with the decoded codeword
    false_positive_probability: float  # union bound over every hypothesis (binomial tail)
    frames_used: int


def _soft_bits(logits: np.ndarray) -> np.ndarray:
    """Soft bits in [-3, 3], scaled per frame so one loud frame cannot outvote the others."""
    scale = np.median(np.abs(logits), axis=1, keepdims=True) + 1e-6  # (N, 1)
    return np.clip(logits / scale, -3.0, 3.0)  # (N, 32)


def _pair_estimate(soft: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Bias-free soft estimate of the 96 codeword bits from samples of runs `runs`, (96,).

    Each sample's bits are put back into word order; per data word, the mean over the runs
    carrying it minus the mean over the runs carrying its complement, so the content bias
    cancels. Every word must be among the runs.
    """
    ordered = in_word_order(soft, runs)  # (n, 32)
    words = runs % WORD_COUNT  # (n,)
    return np.concatenate(
        [
            ordered[words == 2 * j].mean(axis=0) - ordered[words == 2 * j + 1].mean(axis=0)
            for j in range(DATA_WORDS)
        ]
    )


def _chase_decode(observed: np.ndarray, reliability: np.ndarray, key: bytes):
    """Chase-II: BCH-decode the observation with every flip pattern of its CHASE_BITS least
    reliable bits; keep the record whose codeword agrees most with the observation itself.

    The false-positive bound is a union over every valid codeword measured against the
    unflipped observation, so searching more patterns does not weaken it.
    """
    flips = np.zeros((2**CHASE_BITS, len(observed)), np.uint8)  # (P, 96): every flip pattern
    flips[:, np.argsort(reliability)[:CHASE_BITS]] = _flip_patterns()  # (P, CHASE_BITS)
    best = None
    for trial in observed[None, :] ^ flips:  # (96,) each
        decoded = decode_codeword(trial, key)
        if decoded is None:
            continue
        agreeing = int(np.sum(codeword_bits(int(decoded.value_hex, 16), key) == observed))
        if best is None or agreeing > best.agreeing_bits:
            best = dataclasses.replace(decoded, agreeing_bits=agreeing)
        if agreeing >= CODEWORD_BITS - BCH_T:
            break  # no other codeword comes as close: they are >= 2 * BCH_T + 1 bits apart
    return best


@functools.cache
def _flip_patterns() -> np.ndarray:
    """Every subset of CHASE_BITS positions as 0/1 rows, (2**CHASE_BITS, CHASE_BITS) uint8."""
    patterns = np.arange(2**CHASE_BITS)[:, None] >> np.arange(CHASE_BITS)[None, :] & 1
    return patterns.astype(np.uint8)


def _groupings(soft: np.ndarray, runs: np.ndarray):
    """Every bias-free 96-bit soft estimate the detector tries (up to GROUPINGS of them), (96,).

    Samples are middle frames of runs `runs` (run numbers, (n,)) in any copy that keeps the
    frame timing or is mapped back to it (`run_at`), so sample t comes from run phase + runs[t]
    for one of GROUPINGS phases: phase 0 for an intact timeline, another for a copy whose start
    was cut by whole runs. Nothing when some word has no sample (`holds_every_word`).
    """
    if not holds_every_word(runs):
        return
    for phase in range(GROUPINGS):
        yield _pair_estimate(soft, phase + runs)


@dataclass(frozen=True)
class KnownPayloadMatch:
    """The known codeword the frames carry best: its row, its single-hypothesis soft tail (the
    caller multiplies it by the hypotheses it tried) and its hard bit agreement."""

    row: int
    tail: float
    agreeing_bits: int


def best_known_payload(
    logits: np.ndarray, codewords: np.ndarray, runs: np.ndarray | None = None
) -> KnownPayloadMatch:
    """Which of R known codewords the sampled frames carry best.

    The frames are grouped exactly as blind detection groups them (`_groupings`: the schedule's
    phases); each grouping's reliability-weighted bits are scored against
    every codeword, (G, 96) x (R, 96) in one matrix product, and each grouping's best is judged
    by `soft_false_positive`. A registry of R outputs is R x GROUPINGS hypotheses instead of the
    blind decoder's 2**32 x GROUPINGS, so a mark too faint to decode blind (after CRF 30 or a
    half-size copy) still identifies its record at the same bound.
    logits: (n, 32) of n >= WORD_COUNT samples in time order; codewords: (R, 96) of 0/1.
    Raises WatermarkError when the samples do not hold every word (`holds_every_word`).
    """
    if len(logits) < WORD_COUNT or len(codewords) == 0:
        raise WatermarkError(f"need {WORD_COUNT} sampled frames and at least one codeword")
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    if not holds_every_word(runs):
        raise WatermarkError(f"the sampled frames do not hold all {WORD_COUNT} payload words")
    estimates = np.stack(list(_groupings(_soft_bits(logits), runs)))  # (G, 96)
    known = np.where(np.asarray(codewords) > 0, 1.0, -1.0).astype(np.float32)  # (R, 96)
    scores = estimates @ known.T  # (G, R): reliability-weighted agreement
    best = None
    for g, row in enumerate(np.argmax(scores, axis=1).tolist()):
        tail = soft_false_positive(estimates[g], codewords[row], 1)
        if best is None or tail < best.tail:
            agreeing = int(np.sum((estimates[g] > 0) == (codewords[row] > 0)))
            best = KnownPayloadMatch(row=row, tail=tail, agreeing_bits=agreeing)
    return best


def decode_looks(
    frames: Sequence[np.ndarray], looks: Sequence[list[int]]
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Each look with its frames' decoder logits, (k, 32): a frame is decoded once, when the
    first look that needs it comes, so a caller that stops early never decodes the rest."""
    logits = np.zeros((len(frames), WORD_BITS), np.float32)  # (n, 32), filled as read
    decoded: set[int] = set()
    for look in looks:
        fresh = [i for i in look if i not in decoded]
        logits[fresh] = frame_logits([frames[i] for i in fresh])  # (k, 32)
        decoded.update(fresh)
        yield look, logits[look]


def detect_watermark(
    frames: Sequence[np.ndarray], key: bytes, fps: float | None = SCHEDULE_FPS
) -> WatermarkDetection:
    """Read the payload from frames of any size; identify only at false-positive <= 1e-9.

    `fps`: the rate the frames play at; a copy re-timed from the output's SCHEDULE_FPS is read
    at the frames showing the schedule's moments (`sample_positions`).
    Up to three looks at growing sets of frames (`detection_looks`), each decoded only when the
    last did not identify: one middle frame per word (an intact output is read from these six
    alone), the DETECT_SAMPLES middle frames (a lightly altered copy), then every other settled
    frame as well (averaging 2-3x more frames is what a heavily re-encoded, resized or cropped
    copy needs). The procedure can identify at any look, so the 1e-9 is split between them
    (union bound): EARLY_LOOK_SHARE to the first, whose intact clips clear it by orders of
    magnitude (measured bounds ~1e-17), and the rest evenly to the looks a faint mark needs.
    """
    positions = sample_positions(len(frames), fps)
    wanted = positions + second_look_positions(len(frames), fps)
    runs = np.array([run_at(i, fps) for i in wanted], dtype=np.int64)  # (n + m,)
    looks = detection_looks(runs, np.array(wanted), len(positions))
    if len(positions) > EARLY_FRAMES:  # the first look is the one-frame-per-word one
        later = len(looks) - 1
        shares = [EARLY_LOOK_SHARE] + [(1.0 - EARLY_LOOK_SHARE) / later] * later
    else:
        shares = [1.0 / len(looks)] * len(looks)
    detection = WatermarkDetection(False, None, None, 0.0, 1.0, 0)
    sampled = [frames[i] for i in wanted]
    for (look, logits), share in zip(decode_looks(sampled, looks), shares, strict=True):
        detection = detect_from_logits(logits, key, share=share, runs=runs[look])
        if detection.identified:
            break
    return detection


def detect_from_logits(
    logits: np.ndarray, key: bytes, share: float = 1.0, runs: np.ndarray | None = None
) -> WatermarkDetection:
    """The decision part of `detect_watermark`, from decoder logits (n, 32) of sampled frames
    in time order. `runs`: each sample's run number (default: consecutive runs, as
    `sample_positions` gives). `share`: the fraction of the 1e-9 budget this decision may spend,
    when the caller's procedure takes several that may each identify (union bound); the
    reported false-positive probability is the bound divided by it, so identification stays
    "at most 1e-9"."""
    nothing = WatermarkDetection(False, None, None, 0.0, 1.0, len(logits))
    if len(logits) < WORD_COUNT:
        return nothing  # fewer samples than words: 64 bits cannot be read from one word
    soft = _soft_bits(logits)  # (n, 32)
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    best, fp = None, 1.0
    for estimate in _groupings(soft, runs):  # (96,) each
        decoded = _chase_decode((estimate > 0).astype(np.uint8), np.abs(estimate), key)
        if decoded is None:
            continue
        codeword = codeword_bits(int(decoded.value_hex, 16), key)  # (96,)
        bound = soft_false_positive(estimate, codeword, BLIND_HYPOTHESES) / share
        if best is None or bound < fp:
            best, fp = decoded, bound
        if fp <= MAX_FALSE_POSITIVE:
            break  # identified: the bound already counts every grouping, tried or not
    if best is None:
        return nothing
    identified = fp <= MAX_FALSE_POSITIVE
    return WatermarkDetection(
        identified=identified,
        record_id=best.record_id if identified else None,
        value_hex=best.value_hex if identified else None,
        confidence=best.agreeing_bits / CODEWORD_BITS,
        false_positive_probability=fp,
        frames_used=len(logits),
    )


def frames_carry_payload(
    frames: Sequence[np.ndarray],
    payload: WatermarkPayload,
    key: bytes,
    indices: Sequence[int] | None = None,
) -> bool:
    """True when the frames carry this payload (publish's check before it signs).

    With `indices` (each frame's index in its output, as publish knows them), the frames are
    grouped by the word their index carries and each word's pair differenced as detection does;
    the 96 bits must agree with this payload's codeword beyond chance: one known hypothesis, so
    the binomial tail itself must be <= 1e-9 (at least 77 of 96 bits). Every word must be among
    the frames. Frames marked for another record or not at all agree on ~48 bits and are
    refused. Without `indices`, blind detection of the frames must identify this payload.
    """
    if payload_for_record(payload.record_id, key) != payload:
        raise WatermarkError("the payload was not made with this key")
    if indices is None:
        detection = detect_watermark(frames, key)
        return detection.identified and detection.value_hex == payload.value_hex
    if len(indices) != len(frames):
        raise WatermarkError("one index per frame")
    runs = np.array([run_of(i) for i in indices])  # (n,)
    if not holds_every_word(runs):
        return False
    estimate = _pair_estimate(_soft_bits(frame_logits(frames)), runs)  # (96,)
    observed = (estimate > 0).astype(np.uint8)  # (96,)
    agreeing = int(np.sum(observed == codeword_bits(int(payload.value_hex, 16), key)))
    return binomial_false_positive(agreeing, CODEWORD_BITS, 1) <= MAX_FALSE_POSITIVE
