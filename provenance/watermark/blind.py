"""Blind decoding: the payload read from the frames alone, against all 2**32 x 24 hypotheses.

Chase-II around BCH on each grouping of the frames (the schedule's phases), judged by the
soft-decision bound over every valid record id and every grouping.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from provenance.payload import (
    BCH_T,
    CODEWORD_BITS,
    RECORD_ID_BITS,
    WORD_COUNT,
    codeword_bits,
    decode_codeword,
)

from .bounds import MAX_FALSE_POSITIVE, soft_false_positive
from .estimate import groupings, soft_bits
from .result import WatermarkDetection
from .schedule import GROUPINGS

# Chase-II flips every subset of the 8 least reliable bits: 256 BCH decodes per grouping, 24
# groupings, ~0.2 s a look that does not identify. With 4 bits, half-size copies whose bound
# passed at 7 wrong bits were missed: BCH alone corrects 4 (measured on bench clips).
CHASE_BITS = 8
# Every valid record id, times the groupings tried.
BLIND_HYPOTHESES = 2**RECORD_ID_BITS * GROUPINGS


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
    soft = soft_bits(logits)  # (n, 32)
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    best, fp = None, 1.0
    for estimate in groupings(soft, runs):  # (96,) each
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
