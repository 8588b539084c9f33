"""Arrays of packed bit rows, shared by the watermark registry (`watermark.packed`,
`watermark.known`) and the PDQ index (`fingerprint_index`): growing them in place, and Hamming
distances between them by faiss's popcount kernel (~10x numpy's broadcast XOR at 10^6 rows).
"""

from __future__ import annotations

import logging

import numpy as np

# faiss logs at INFO which CPU build it loaded, which would break a CLI's one-line errors.
# Modules that use faiss take it from here, so it is quiet whichever of them loads first.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)
import faiss  # noqa: E402


def hamming_distances(queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Hamming distances (Q, R) int32 between packed rows (Q, b) and (R, b) uint8."""
    queries = np.ascontiguousarray(queries, np.uint8)
    rows = np.ascontiguousarray(rows, np.uint8)
    out = np.empty((len(queries), len(rows)), np.int32)  # (Q, R)
    faiss.hammings(
        faiss.swig_ptr(queries),
        faiss.swig_ptr(rows),
        len(queries),
        len(rows),
        rows.shape[1],
        faiss.swig_ptr(out),
    )
    return out


def grown(array: np.ndarray, needed: int, used: int) -> np.ndarray:
    """`array` with room for `needed` rows (at least double), its first `used` rows kept."""
    bigger = np.zeros((max(needed, 2 * len(array)), *array.shape[1:]), array.dtype)
    bigger[:used] = array[:used]
    return bigger
