"""An index of every registered PDQ hash, for Hamming search at a million outputs.

faiss's IndexBinaryFlat, as ThreatExchange's hash matching uses: exact, 32 bytes a hash. A
radius search of 10^7 hashes (10^6 ten-second outputs) costs ~40 ms of CPU a scan here, and a
clip's query hashes share one scan (`PdqIndex.search`). The sublinear indexes miss pairs or
cost memory a worker does not have (docs/detection.md gives the measurements).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provenance.bitrows import faiss, grown, hamming_distances
from provenance.errors import MediaError
from provenance.fingerprint import MATCH_DISTANCE, PDQ_BITS

HASH_BYTES = PDQ_BITS // 8  # 32
# The nearest hash is reported up to here: past a match (a heavily edited copy of a known
# output) but far short of unrelated pictures (120-146), which would cost the scan a heap.
NEAR_DISTANCE = 63
# Query hashes within this of a group's first share its scan (`PdqIndex.search`): the scan's
# radius grows by it, and at 63 + 32 bits a random hash of 256 is a 4-sigma neighbour (~2e-5
# of the index), so the rows to re-measure stay few.
GROUP_SPREAD = 32


@dataclass(frozen=True)
class PdqMatches:
    """What the index holds near some query hashes."""

    nearest: tuple[int, int] | None  # (record id, distance) of the nearest, if <= NEAR_DISTANCE
    # Every record within the radius as (record id, its nearest distance), nearest first.
    within: tuple[tuple[int, int], ...]


def hashes_from_hex(hashes: Sequence[str]) -> np.ndarray:
    """(M, 32) uint8 rows of hex PDQ hashes; MediaError for anything else."""
    try:
        raw = b"".join(bytes.fromhex(h) for h in hashes)
    except (TypeError, ValueError) as error:
        raise MediaError("a PDQ hash is 64 hex characters") from error
    if len(raw) != HASH_BYTES * len(hashes):
        raise MediaError("a PDQ hash is 64 hex characters")
    return np.frombuffer(raw, np.uint8).reshape(len(hashes), HASH_BYTES)


class PdqIndex:
    """Registered PDQ hashes with the record each belongs to; append-only.

    The hashes are held once, in one numpy array sized by `capacity` (a worker's load sizes it
    for everything and an eighth more), and scanned in place by faiss's Hamming range search,
    the kernel `IndexBinaryFlat` runs on its own copy: handing them to an IndexBinaryFlat held
    them twice while it copied (~360 MB more at the load's peak at 10^7), and faiss growing its
    array batch by batch left the freed copies in the process. A record's hashes arrive
    together, so owners are held as runs (first row, record id): 8
    bytes a record instead of 4 a hash (45 MB at 10^7 hashes).
    """

    def __init__(self, capacity: int = 1024) -> None:
        runs = max(1024, capacity // 8)
        self._run_starts = np.zeros(runs, np.int64)  # first row of each run, ascending
        self._run_owners = np.zeros(runs, np.uint32)  # its record id (< 2**32)
        self._runs = 0
        self._hashes = np.zeros((capacity, HASH_BYTES), np.uint8)  # (capacity, 32)
        self._count = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._count

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[int, str]]) -> PdqIndex:
        """An index of (record id, PDQ hex) pairs."""
        index = cls(max(1, len(pairs)))
        if pairs:
            index.add(
                np.array([r for r, _ in pairs], np.int64), hashes_from_hex([h for _, h in pairs])
            )
        return index

    def add(self, record_ids: np.ndarray, hashes: np.ndarray) -> None:
        """Index hashes (M, 32) uint8, hash i belonging to record_ids[i]."""
        hashes = np.ascontiguousarray(hashes, np.uint8).reshape(-1, HASH_BYTES)
        if len(record_ids) != len(hashes):
            raise MediaError("one record id per hash")
        ids = np.asarray(record_ids).astype(np.uint32)  # (M,)
        with self._lock:
            start = len(self)
            # a run begins where the record id changes, unless it continues the last run
            begins = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else ids
            if len(begins) and self._runs and self._run_owners[self._runs - 1] == ids[0]:
                begins = begins[1:]
            runs = self._runs + len(begins)
            if runs > len(self._run_starts):
                self._run_starts = grown(self._run_starts, runs, self._runs)
                self._run_owners = grown(self._run_owners, runs, self._runs)
            end = start + len(hashes)
            if end > len(self._hashes):
                self._hashes = grown(self._hashes, end, start)
            self._run_starts[self._runs : runs] = start + begins
            self._run_owners[self._runs : runs] = ids[begins]
            self._runs = runs
            self._hashes[start:end] = hashes
            self._count = end  # after the rows: a reader never sees an unwritten one

    def _owners_of(self, rows: np.ndarray) -> np.ndarray:
        """The record id (F,) of each index row (F,)."""
        runs = np.searchsorted(self._run_starts[: self._runs], rows, side="right") - 1
        return self._run_owners[runs]

    @property
    def nbytes(self) -> int:
        runs = self._run_starts.nbytes + self._run_owners.nbytes
        return self._hashes.nbytes + runs

    def search(self, hashes: Sequence[str], max_distance: int = MATCH_DISTANCE) -> PdqMatches:
        """The nearest registered hash to any of `hashes` (if within NEAR_DISTANCE), and every
        record within max_distance.

        Exact, in one scan of the index per group of query hashes (`_query_groups`): a clip's
        hashes, one a second of one talking head, are a few bits apart, so every hash within
        the radius of any of them is within radius + spread of the group's first, and the rows
        that one scan returns are measured against each of them. Ten scans of 10^7 hashes
        become a few, run by one faiss call, and the answer is the one each query's own scan
        would give.
        """
        if not hashes or not len(self):
            return PdqMatches(None, ())
        query = hashes_from_hex(hashes)  # (Q, 32)
        radius = max(NEAR_DISTANCE, max_distance)  # reported up to here, inclusive
        groups = list(_query_groups(query))
        found_rows, found_distances = [], []
        with self._lock:
            stored = self._hashes[: self._count]  # (N, 32)
            # One faiss call for every group, so its loop over queries runs on every core;
            # the widest group's radius serves all, and each group's rows are then measured
            # against its own members, so the answer is the same as one scan per group.
            centres = query[[centre for centre, _, _ in groups]]  # (G, 32)
            widest = radius + max(spread for _, _, spread in groups)
            for (_, members, _), rows in zip(
                groups, _rows_within(centres, stored, widest), strict=True
            ):
                distances = hamming_distances(query[members], stored[rows]).min(axis=0)  # (F,)
                kept = distances <= radius
                found_rows.append(rows[kept])
                found_distances.append(distances[kept])
            owners_found = self._owners_of(np.concatenate(found_rows)).astype(np.int64)  # (F,)
        distances = np.concatenate(found_distances)  # (F,)
        if not len(distances):
            return PdqMatches(None, ())
        # Each record's nearest distance, vectorised: a face with many clips puts ~10^4 hashes
        # of look-alike records within the radius of a query, too many for a Python loop.
        order = np.lexsort((owners_found, distances))  # by distance, then record id
        records, first = np.unique(owners_found[order], return_index=True)  # first = nearest
        nearest = distances[order][first]  # (U,)
        ranked = np.lexsort((records, nearest))  # nearest first, then record id
        pairs = list(zip(records[ranked].tolist(), nearest[ranked].tolist(), strict=True))
        return PdqMatches(pairs[0], tuple(p for p in pairs if p[1] <= max_distance))


def _rows_within(queries: np.ndarray, stored: np.ndarray, radius: int) -> list[np.ndarray]:
    """For each query (Q, 32), the rows (F_q,) int64 of `stored` (N, 32) within `radius` bits
    of it: faiss's range search (the kernel of IndexBinaryFlat) over our array, not a copy of
    it, in one call whose OpenMP loop over the queries spreads them over the cores."""
    queries = np.ascontiguousarray(queries, np.uint8)
    result = faiss.RangeSearchResult(len(queries))
    # faiss keeps distances below its radius
    faiss.hamming_range_search(
        faiss.swig_ptr(queries),
        faiss.swig_ptr(stored),
        len(queries),
        len(stored),
        radius + 1,
        HASH_BYTES,
        result,
    )
    lims = faiss.rev_swig_ptr(result.lims, len(queries) + 1).astype(np.int64)  # (Q+1,)
    labels = faiss.rev_swig_ptr(result.labels, int(lims[-1])).astype(np.int64)  # copied out
    return [labels[lims[q] : lims[q + 1]] for q in range(len(queries))]


def _query_groups(query: np.ndarray):
    """Greedy groups of the query hashes (Q, 32): each as (its first's index, every member's
    index, the largest distance from the first to a member, <= GROUP_SPREAD)."""
    remaining = np.arange(len(query))
    while len(remaining):
        centre = int(remaining[0])
        spread = hamming_distances(query[centre][None], query[remaining])[0]  # (r,)
        members = remaining[spread <= GROUP_SPREAD]
        yield centre, members, int(spread[spread <= GROUP_SPREAD].max())
        remaining = remaining[spread > GROUP_SPREAD]
