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

from provenance.bitrows import hamming_distances
from provenance.errors import WatermarkError
from provenance.payload import CODEWORD_BITS, WORD_BITS, WORD_COUNT

from .bounds import binomial_false_positive, soft_false_positive
from .estimate import groupings, soft_bits
from .packed import CODEWORD_BYTES, PADDED_CODEWORD_BYTES, PackedPayloads
from .schedule import BIT_ORDERS, GROUPINGS, holds_every_word


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


# Rows compared at a time: a (24, 65536) int32 block of distances is 6 MB, whatever the
# registry's size.
_CHUNK_ROWS = 65_536
# Only codewords within this many hard bits of a grouping's nearest are scored soft. A union
# bound over every record holds whichever rows are scored, so this can cost power, never the
# bound; and a record that identifies stands tens of bits nearer than any other (measured: the
# nearest of 10^6 random codewords sits ~27 bits away, an identifying one under 20).
HARD_SLACK = 8


def _near_rows(query: np.ndarray, codewords: np.ndarray) -> list[np.ndarray]:
    """For each of G packed queries (G, 16) uint8, the rows of the packed codewords (R, 16)
    uint8 within HARD_SLACK hard bits of its nearest, ascending (96 bits, zero-padded on both
    sides, so the padding adds nothing).

    One pass over the registry a chunk at a time, keeping only each query's rows within the
    slack of its nearest so far (a superset of the answer, trimmed at the end): a (G, R) table
    of distances would be 24 MB at 10^6 outputs, on top of a check's peak memory.
    """
    nearest = np.full(len(query), 255, np.int64)  # (G,) nearest so far
    kept: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in query]  # rows, distances
    for start in range(0, len(codewords), _CHUNK_ROWS):
        chunk = codewords[start : start + _CHUNK_ROWS]  # (c, 16)
        distances = hamming_distances(query, chunk)  # (G, c)
        nearest = np.minimum(nearest, distances.min(axis=1))
        for g in range(len(query)):
            near = np.flatnonzero(distances[g] <= nearest[g] + HARD_SLACK)
            if len(near):
                kept[g].append((near + start, distances[g, near]))
    rows = []
    for g, parts in enumerate(kept):
        found = np.concatenate([r for r, _ in parts])  # ascending: chunks come in order
        found_distances = np.concatenate([d for _, d in parts])
        rows.append(found[found_distances <= nearest[g] + HARD_SLACK])
    return rows


def _best_rows(estimates: np.ndarray, codewords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each grouping, the packed codeword it agrees with best (reliability-weighted),
    among those within HARD_SLACK hard bits of its nearest.

    estimates: (G, 96) soft bits; codewords: (R, 16) packed and zero-padded. Returns rows (G,)
    and their 0/1 bits (G, 96). A codeword's +-1 agreement is 2 * (bits @ estimate) -
    sum(estimate), so the 0/1 bits rank rows as the +-1 form does, first row on ties.
    """
    signs = np.zeros((len(estimates), PADDED_CODEWORD_BYTES), np.uint8)  # (G, 16)
    signs[:, :CODEWORD_BYTES] = np.packbits(estimates > 0, axis=1)
    best_row = np.zeros(len(estimates), np.int64)
    for g, rows in enumerate(_near_rows(signs, codewords)):
        bits = np.unpackbits(codewords[rows], axis=1)[:, :CODEWORD_BITS]  # (k, 96)
        best_row[g] = rows[int(np.argmax(bits.astype(np.float32) @ estimates[g]))]
    chosen = np.unpackbits(codewords[best_row], axis=1)[:, :CODEWORD_BITS]  # (G, 96)
    return best_row, chosen


def _best_known_packed(
    logits: np.ndarray, codewords: np.ndarray, runs: np.ndarray
) -> KnownPayloadMatch:
    """`best_known_payload` over packed codewords (R, 16): never unpacks the whole registry."""
    estimates = np.stack(list(groupings(soft_bits(logits), runs)))  # (G, 96)
    rows, bits = _best_rows(estimates, codewords)
    best = None
    for g, row in enumerate(rows.tolist()):
        tail = soft_false_positive(estimates[g], bits[g], 1)
        if best is None or tail < best.tail:
            agreeing = int(np.sum((estimates[g] > 0) == (bits[g] > 0)))
            best = KnownPayloadMatch(row=row, tail=tail, agreeing_bits=agreeing)
    return best


def _word_agreement(observed: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Each record's summed best agreement of n frame words with any word its frames carry.

    observed: (n,) uint32; words: (R, 12) uint32 of the data words in every bit order, whose
    complements are the other 12 frame words. Returns (R,) int64 agreeing bits of n x 32.
    """
    total = np.zeros(len(words), np.int64)
    for start in range(0, len(words), _CHUNK_ROWS):
        chunk = words[start : start + _CHUNK_ROWS]  # (c, 12)
        differing = np.bitwise_count(observed[None, :, None] ^ chunk[:, None, :])  # (c, n, 12)
        # A word's complement differs where the word agrees: its agreement is the word's
        # distance. uint8 throughout (at most 32): a quarter of int64's memory traffic.
        agreement = np.maximum(WORD_BITS - differing, differing)
        total[start : start + len(chunk)] = agreement.max(axis=2).sum(axis=1, dtype=np.int64)
    return total


def known_match(
    logits: np.ndarray,
    key: bytes,
    known: Sequence[KnownPayload] | PackedPayloads,
    runs: np.ndarray,
) -> KnownMatch | None:
    """The known payload that best explains the sampled frames, its bound and agreement.

    `known`: a registry's PackedPayloads (codewords computed at publish), or a few
    KnownPayloads, packed here. The bound counts every payload tried, so it grows with R.
    When the samples hold every word (by `runs`), each payload's whole 96-bit codeword is
    compared with the frames grouped as blind detection groups them (the schedule's pair
    differences), bits weighted by reliability (soft decision): R x GROUPINGS hypotheses.
    Otherwise (a still image carries one word) each frame is compared with each word a payload's
    frames can carry (every word in every bit order), and the union runs over every way of
    assigning words to the frames.
    logits: (n, 32) in time order; runs: each sample's run, (n,).
    """
    if not len(known) or len(logits) == 0:
        return None
    packed = known if isinstance(known, PackedPayloads) else _packed(tuple(known), key)
    ids, codewords, words = packed.view()
    if holds_every_word(runs):
        match = _best_known_packed(logits, codewords, np.asarray(runs))
        fp = min(1.0, match.tail * len(ids) * GROUPINGS)
        payload = KnownPayload(int(ids[match.row]), packed.payload_hex(match.row))
        return KnownMatch(payload, fp, match.agreeing_bits / CODEWORD_BITS)
    # Bits packed into uint32 (most significant first, as word_bits orders them), so a registry
    # of R outputs costs R x n x 12 popcounts, not R x n x 24 x 32 booleans.
    weights = (1 << np.arange(WORD_BITS - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)
    observed = ((logits > 0).astype(np.uint64) @ weights).astype(np.uint32)  # (n,)
    per_record = _word_agreement(observed, words)  # (R,)
    best = int(np.argmax(per_record))
    total = len(logits) * WORD_BITS
    candidates = word_match_hypotheses(len(ids), len(logits))
    fp = binomial_false_positive(int(per_record[best]), total, candidates)
    payload = KnownPayload(int(ids[best]), packed.payload_hex(best))
    return KnownMatch(payload, fp, float(per_record[best]) / total)


def word_match_hypotheses(records: int, frames: int) -> int:
    """Hypotheses of a word-by-word match (frames that do not hold every word): each record
    times every way of assigning its 24 frame words to the frames."""
    return records * (WORD_COUNT * BIT_ORDERS) ** frames


def word_match_floor(records: int, frames: int) -> float:
    """The lowest bound a word-by-word match of `frames` frames against `records` payloads can
    give: every bit agreeing. A still (one word of 32 bits) against more than 178 records
    cannot get below 1e-6, so there the registry can neither identify it nor point at it."""
    return binomial_false_positive(
        frames * WORD_BITS, frames * WORD_BITS, word_match_hypotheses(records, frames)
    )


@functools.lru_cache(maxsize=4096)
def _packed(known: tuple[KnownPayload, ...], key: bytes) -> PackedPayloads:
    """A caller's few payloads (candidates, tests), packed once per distinct set."""
    return PackedPayloads.from_known(known, key)
