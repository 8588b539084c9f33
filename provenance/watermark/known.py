"""Matching sampled frames against payloads a registry knows: R x 24 hypotheses, not 2^32 x 24.

A mark too faint to decode blind (after CRF 30 or a half-size copy) still identifies its record
at the same bound, because far fewer hypotheses are tried. A still image carries one 32-bit
word, so it is compared word by word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import WatermarkError
from provenance.payload import (
    CODEWORD_BITS,
    WORD_BITS,
    WORD_COUNT,
    codeword_bits,
    words_from_codeword,
)

from .bounds import binomial_false_positive, soft_false_positive
from .estimate import groupings, soft_bits
from .schedule import BIT_ORDERS, GROUPINGS, holds_every_word, ordered_word


@dataclass(frozen=True)
class KnownPayload:
    """A published output's payload, as a registry knows it."""

    record_id: int
    payload_hex: str


@dataclass(frozen=True)
class KnownMatch:
    """The known payload that best explains the frames, with its bound over every known payload
    tried (not yet divided by a look's share of the budget) and its bit agreement."""

    payload: KnownPayload
    false_positive: float
    agreement: float


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
    estimates = np.stack(list(groupings(soft_bits(logits), runs)))  # (G, 96)
    known = np.where(np.asarray(codewords) > 0, 1.0, -1.0).astype(np.float32)  # (R, 96)
    scores = estimates @ known.T  # (G, R): reliability-weighted agreement
    best = None
    for g, row in enumerate(np.argmax(scores, axis=1).tolist()):
        tail = soft_false_positive(estimates[g], codewords[row], 1)
        if best is None or tail < best.tail:
            agreeing = int(np.sum((estimates[g] > 0) == (codewords[row] > 0)))
            best = KnownPayloadMatch(row=row, tail=tail, agreeing_bits=agreeing)
    return best


@functools.lru_cache(maxsize=65_536)
def _payload_codeword(payload_hex: str, key: bytes) -> bytes:
    return codeword_bits(int(payload_hex, 16), key).astype(np.uint8).tobytes()  # 96 x 0/1


@functools.lru_cache(maxsize=65_536)
def _payload_words(payload_hex: str, key: bytes) -> tuple[int, ...]:
    """Every 32-bit word a frame of this payload's output can carry: each of the WORD_COUNT
    words in each of the BIT_ORDERS orders."""
    codeword = np.frombuffer(_payload_codeword(payload_hex, key), np.uint8)  # (96,)
    words = words_from_codeword(codeword, key)
    return tuple(ordered_word(word, order) for order in range(BIT_ORDERS) for word in words)


def known_match(
    logits: np.ndarray, key: bytes, known: Sequence[KnownPayload], runs: np.ndarray
) -> KnownMatch | None:
    """The known payload that best explains the sampled frames, its bound and agreement.

    When the samples hold every word (by `runs`), each payload's whole 96-bit codeword is
    compared with the frames grouped as blind detection groups them (the schedule's pair
    differences), bits weighted by reliability (soft decision): R x GROUPINGS hypotheses.
    Otherwise (a still image carries one word) each frame is compared with each word a payload's
    frames can carry (every word in every bit order), and the union runs over every way of
    assigning words to the frames.
    logits: (n, 32) in time order; runs: each sample's run, (n,).
    """
    if not known or len(logits) == 0:
        return None
    if holds_every_word(runs):
        codewords = np.frombuffer(
            b"".join(_payload_codeword(p.payload_hex, key) for p in known), np.uint8
        ).reshape(len(known), CODEWORD_BITS)  # (R, 96)
        match = best_known_payload(logits, codewords, runs)
        fp = min(1.0, match.tail * len(known) * GROUPINGS)
        return KnownMatch(known[match.row], fp, match.agreeing_bits / CODEWORD_BITS)
    # Bits packed into uint32 (most significant first, as word_bits orders them), so a registry
    # of R outputs costs R x n x K popcounts, not R x n x K x 32 booleans.
    weights = (1 << np.arange(WORD_BITS - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)
    observed = ((logits > 0).astype(np.uint64) @ weights).astype(np.uint32)  # (n,)
    words = np.array([_payload_words(p.payload_hex, key) for p in known], dtype=np.uint32)  # (R, K)
    differing = np.bitwise_count(observed[None, :, None] ^ words[:, None, :])  # (R, n, K)
    agreement = WORD_BITS - differing.astype(np.int64)
    per_record = agreement.max(axis=2).sum(axis=1)  # (R,)
    best = int(np.argmax(per_record))
    total = len(logits) * WORD_BITS
    candidates = len(known) * words.shape[1] ** len(logits)
    fp = binomial_false_positive(int(per_record[best]), total, candidates)
    return KnownMatch(known[best], fp, float(per_record[best]) / total)
