"""Payloads packed once (at publish) match frames exactly as payloads recomputed per check did."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.payload import codeword_bits, payload_for_record, word_bits
from provenance.watermark import KnownPayload
from provenance.watermark.known import known_match
from provenance.watermark.packed import PackedPayloads, ordered_words, pack_codewords
from provenance.watermark.schedule import BIT_ORDERS, ordered_word

KEY = b"packed-payload-test-key-32-bytes"


def _logits_of(record_id: int, frames: int, strength: float, seed: int) -> np.ndarray:
    """Decoder logits of `frames` consecutive runs of this record's output, with noise."""
    payload = payload_for_record(record_id, KEY)
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, (frames, 32)).astype(np.float32)  # (n, 32)
    for run in range(frames):
        word = ordered_word(payload.words[run % 6], (run // 6) % BIT_ORDERS)
        logits[run] += strength * (word_bits(word).astype(np.float32) * 2 - 1)
    return logits


def test_the_packed_words_are_the_words_every_frame_can_carry():
    for record_id in (1, 77, 2**31 + 5):
        payload = payload_for_record(record_id, KEY)
        carried = {ordered_word(w, o) for o in range(BIT_ORDERS) for w in payload.words}
        words = ordered_words(codeword_bits(int(payload.value_hex, 16), KEY)[None, :])[0]
        packed = {int(w) for w in words} | {int(w) ^ 0xFFFFFFFF for w in words}
        assert packed == carried


def test_packed_and_listed_payloads_give_the_same_match():
    known = [KnownPayload(r, payload_for_record(r, KEY).value_hex) for r in range(1, 200)]
    packed = PackedPayloads.from_known(known, KEY)
    for frames, seed in ((16, 1), (2, 2), (1, 3)):
        logits = _logits_of(42, frames, 0.8, seed)
        runs = np.arange(frames)
        listed, from_packed = (
            known_match(logits, KEY, known, runs),
            known_match(logits, KEY, packed, runs),
        )
        assert from_packed == listed
        assert from_packed.payload.record_id == 42


def test_the_bound_counts_every_record_tried():
    """The same frames against 1 record and against 5001: the bound is 5001 times larger."""
    logits = _logits_of(42, 16, 0.25, 4)
    true = KnownPayload(42, payload_for_record(42, KEY).value_hex)
    rng = np.random.default_rng(5)
    many = PackedPayloads.from_known([true], KEY)
    codewords = rng.integers(0, 2, (5000, 96), dtype=np.uint8)
    many.append(
        np.arange(10**6, 10**6 + 5000), np.arange(5000, dtype=np.uint64), pack_codewords(codewords)
    )
    alone = known_match(logits, KEY, [true], np.arange(16))
    among = known_match(logits, KEY, many, np.arange(16))
    assert among.payload == true
    assert among.false_positive == pytest.approx(alone.false_positive * 5001)
    assert alone.false_positive * 5001 < 1  # not capped at 1, so the ratio is the count


def test_appending_keeps_what_a_reader_already_holds():
    packed = PackedPayloads(capacity=2)
    rows = pack_codewords(np.ones((2, 96), np.uint8))
    packed.append(np.array([1, 2]), np.array([10, 20], np.uint64), rows)
    ids, codewords, _ = packed.view()
    packed.append(
        np.array([3, 4, 5]), np.array([30, 40, 50], np.uint64), np.vstack([rows, rows[:1]])
    )
    assert ids.tolist() == [1, 2] and codewords.shape == (2, 16)
    assert packed.view()[0].tolist() == [1, 2, 3, 4, 5]
    assert packed.payload_hex(4) == f"{50:016x}"


def test_the_popcount_kernels_count_every_differing_bit():
    """faiss's kernels against bit-by-bit counting, over more rows than one chunk holds."""
    from provenance.watermark.known import _CHUNK_ROWS, HARD_SLACK, _near_rows, _word_agreement

    rng = np.random.default_rng(7)
    rows = _CHUNK_ROWS + 1001
    codewords = np.zeros((rows, 16), np.uint8)
    codewords[:, :12] = rng.integers(0, 256, (rows, 12), dtype=np.uint8)
    queries = np.zeros((24, 16), np.uint8)
    queries[:, :12] = rng.integers(0, 256, (24, 12), dtype=np.uint8)
    # Some queries' nearest rows sit in the second chunk, a few bits off: rows of the first
    # chunk kept as near so far must be dropped once the nearer one comes.
    for g in range(0, 24, 3):
        codewords[_CHUNK_ROWS + g, :12] = queries[g, :12] ^ np.uint8(1 << (g % 8))
    counted = np.unpackbits(codewords[None, :, :] ^ queries[:, None, :], axis=2).sum(axis=2)
    near = _near_rows(queries, codewords)
    for g in range(24):
        expected = np.flatnonzero(counted[g] <= counted[g].min() + HARD_SLACK)
        assert near[g].tolist() == expected.tolist()
    assert all(_CHUNK_ROWS + g in near[g] and len(near[g]) == 1 for g in range(0, 24, 3))

    words = rng.integers(0, 2**32, (rows, 12), dtype=np.uint64).astype(np.uint32)
    observed = rng.integers(0, 2**32, 3, dtype=np.uint64).astype(np.uint32)
    differing = (
        np.unpackbits((observed[None, :, None] ^ words[:, None, :]).view(np.uint8), axis=-1)
        .reshape(rows, 3, 12, 32)
        .sum(axis=3)
    )
    expected = np.maximum(32 - differing, differing).max(axis=2).sum(axis=1)
    assert (_word_agreement(observed, words) == expected).all()


def test_a_still_cannot_point_at_a_record_among_more_than_178():
    """One 32-bit word against R records is R x 24 hypotheses: past 178 even 32 agreeing bits
    leave the bound above the 1e-6 of partial evidence, so detection does not scan for it."""
    from provenance.watermark.detect import PARTIAL_MAX_FALSE_POSITIVE
    from provenance.watermark.known import word_match_floor

    assert word_match_floor(178, 1) <= PARTIAL_MAX_FALSE_POSITIVE < word_match_floor(179, 1)
    assert word_match_floor(10**6, 5) < 1e-9  # five stills of a clip still can
