"""Synthetic outputs for a throwaway registry (detect_bench, tests): N rows like real ones.

A real codeword is masked with a keyed pseudorandom mask, so its bits look like fair coins:
random codewords are what an unrelated record is to the false-positive bound. A real output's
PDQ hashes are one per second of one talking head, close to each other; a synthetic one is a
random base hash with a few bits flipped per second. A share of them are look-alikes of a real
clip (another clip of the same portrait: within MATCH_DISTANCE of it), the case that makes PDQ
name several records and only the watermark can tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import connection

from provenance.fingerprint_index import HASH_BYTES, hashes_from_hex
from provenance.payload import CODEWORD_BITS, RECORD_ID_BITS
from provenance.watermark.packed import pack_codewords

from .index import VALUE_BYTES
from .models import IndexedOutput

SECONDS = 10  # PDQ hashes per synthetic output: one per second of a 10-s clip
SECOND_FLIP = 0.02  # per-bit flip chance between a clip's seconds (~5 bits of 256)
LOOKALIKE_SHARE = 0.001  # of synthetic outputs, near a real clip
LOOKALIKE_FLIP = 0.06  # per-bit flip chance from the real clip's hash (~15 of 256)
_CHUNK = 20_000


def synthetic_record_ids(count: int, *, seed: int, exclude_ids: Sequence[int] = ()):
    """`count` distinct record ids, in random order, none in `exclude_ids`: (count,) int64."""
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(10**6, 2**RECORD_ID_BITS, int(count * 1.01) + 16))
    ids = rng.permutation(ids[~np.isin(ids, np.asarray(exclude_ids, np.int64))])[:count]
    if len(ids) < count:
        raise ValueError("could not draw enough distinct record ids")
    return ids


def synthetic_rows(
    ids: np.ndarray,
    *,
    seed: int,
    lookalike_of: Sequence[Sequence[str]] = (),
    lookalike_share: float = LOOKALIKE_SHARE,
):
    """Yield chunks of (record_ids (k,), rows of IndexedOutput.packed (k, 68) uint8,
    fingerprints (k, SECONDS * 32) uint8) for the records `ids`. `lookalike_of`: real clips'
    PDQ hex hashes, copied with noise into a `lookalike_share` of the records."""
    rng = np.random.default_rng(seed)
    count = len(ids)
    real = [hashes_from_hex(list(h)) for h in lookalike_of if h]
    for start in range(0, count, _CHUNK):
        chunk = ids[start : start + _CHUNK]  # (k,)
        k = len(chunk)
        codewords = rng.integers(0, 2, (k, CODEWORD_BITS), dtype=np.uint8)  # (k, 96)
        values = rng.integers(0, 2**63, k, dtype=np.int64).astype(">u8").view(np.uint8)
        packed = np.concatenate([values.reshape(k, VALUE_BYTES), pack_codewords(codewords)], 1)
        base = np.unpackbits(rng.integers(0, 256, (k, 1, HASH_BYTES), dtype=np.uint8), axis=2)
        base = np.repeat(base, SECONDS, axis=1)  # (k, SECONDS, 256)
        if real:
            alike = np.flatnonzero(rng.random(k) < lookalike_share)
            for row in alike.tolist():
                clip = real[int(rng.integers(len(real)))]  # (M, 32)
                picks = clip[np.arange(SECONDS) % len(clip)]  # (SECONDS, 32)
                noise = rng.random((1, 256)) < LOOKALIKE_FLIP  # the same edit in every second
                base[row] = np.unpackbits(picks, axis=1) ^ noise
        flips = (rng.random(base.shape) < SECOND_FLIP).astype(np.uint8)  # (k, SECONDS, 256)
        prints = np.packbits(base ^ flips, axis=2).reshape(k, SECONDS * HASH_BYTES)
        yield chunk, packed, prints


def synthetic_registry_fill(
    count: int, *, seed: int = 0, exclude_ids: Sequence[int] = (), ids=None, **kwargs
) -> int:
    """Insert `count` synthetic IndexedOutput rows (the caller owns the transaction), with the
    record `ids` given or drawn here."""
    if ids is None:
        ids = synthetic_record_ids(count, seed=seed, exclude_ids=exclude_ids)
    # Raw executemany: bulk_create's per-object work would be most of a million-row fill.
    assert IndexedOutput._meta.db_table == "detection_indexedoutput"
    sql = (
        "INSERT INTO detection_indexedoutput (record_id, packed, fingerprints) VALUES (%s, %s, %s)"
    )
    written = 0
    with connection.cursor() as cursor:
        for chunk, packed, prints in synthetic_rows(ids[:count], seed=seed, **kwargs):
            cursor.executemany(
                sql,
                [
                    (int(r), packed[i].tobytes(), prints[i].tobytes())
                    for i, r in enumerate(chunk.tolist())
                ],
            )
            written += len(chunk)
    return written
