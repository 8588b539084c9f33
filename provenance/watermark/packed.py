"""Known payloads as packed arrays: what a registry of a million outputs holds in memory.

A record costs PACKED_BYTES = 60 bytes: its 96-bit codeword (12 bytes) and its three data
words in each of the BIT_ORDERS bit orders (12 x 32 bits), all computed once, at publish, so a
detection never re-runs the Feistel, BCH or bit-order code (~19 us a record in Python) for
what it already knows. A frame word's complement needs no row of its own: a bit permutation
commutes with NOT, so its distance is WORD_BITS minus the word's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from provenance.bitrows import grown
from provenance.errors import WatermarkError
from provenance.payload import CODEWORD_BITS, DATA_WORDS, WORD_BITS, codeword_bits

from .schedule import BIT_ORDERS, bit_orders

CODEWORD_BYTES = CODEWORD_BITS // 8  # 12
PADDED_CODEWORD_BYTES = 16  # held in memory as two uint64, for popcount
ORDERED_WORDS = BIT_ORDERS * DATA_WORDS  # 12: data word j in order o at column o * 3 + j
PACKED_BYTES = CODEWORD_BYTES + ORDERED_WORDS * 4  # 60


def ordered_words(codewords: np.ndarray) -> np.ndarray:
    """Each codeword's data words in every bit order, as `ordered_word` embeds them.

    codewords: (R, 96) of 0/1; returns (R, ORDERED_WORDS) uint32, column o * DATA_WORDS + j.
    """
    chunks = np.asarray(codewords, np.uint8).reshape(-1, DATA_WORDS, WORD_BITS)  # (R, 3, 32)
    columns = []
    for order in bit_orders():  # position k carries bit order[k]
        bits = np.ascontiguousarray(chunks[:, :, order])  # (R, 3, 32), most significant first
        packed = np.packbits(bits, axis=2).reshape(-1, DATA_WORDS, 4)  # (R, 3, 4) bytes
        columns.append(packed.view(">u4")[:, :, 0].astype(np.uint32))  # (R, 3)
    return np.concatenate(columns, axis=1)  # (R, 12)


def pack_codewords(codewords: np.ndarray) -> np.ndarray:
    """The PACKED_BYTES rows stored per record: packed codeword, then the ordered words.

    codewords: (R, 96) of 0/1; returns (R, 60) uint8.
    """
    codewords = np.asarray(codewords, np.uint8).reshape(-1, CODEWORD_BITS)
    words = ordered_words(codewords).astype("<u4").view(np.uint8)  # (R, 48)
    return np.concatenate([np.packbits(codewords, axis=1), words], axis=1)


def packed_payload(payload_hex: str, key: bytes) -> bytes:
    """The PACKED_BYTES a registry stores for one payload (its scrambled value, hex)."""
    try:
        value = int(payload_hex, 16)
    except (TypeError, ValueError) as error:
        raise WatermarkError("a payload is its scrambled value in hex") from error
    return pack_codewords(codeword_bits(value, key)[None, :]).tobytes()


class PackedPayloads:
    """R known payloads: record ids, scrambled values and packed rows, appendable in place.

    Capacity doubles, so appending one output copies nothing already held (amortised), and a
    reader's snapshot (`view`) stays valid while a writer appends: rows are written before the
    count that exposes them, and a grown array is a new one.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._count = 0
        self._ids = np.zeros(capacity, np.int64)
        self._values = np.zeros(capacity, np.uint64)
        self._codewords = np.zeros((capacity, PADDED_CODEWORD_BYTES), np.uint8)
        self._words = np.zeros((capacity, ORDERED_WORDS), np.uint32)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @classmethod
    def from_known(cls, known: Sequence, key: bytes) -> PackedPayloads:
        """Pack KnownPayload-like values (record_id, payload_hex) under the platform key."""
        packed = cls(max(1, len(known)))
        if known:
            rows = np.frombuffer(
                b"".join(packed_payload(p.payload_hex, key) for p in known), np.uint8
            ).reshape(len(known), PACKED_BYTES)
            values = np.array([int(p.payload_hex, 16) for p in known], np.uint64)
            packed.append(np.array([p.record_id for p in known], np.int64), values, rows)
        return packed

    def append(self, record_ids: np.ndarray, values: np.ndarray, rows: np.ndarray) -> None:
        """Add records: ids (k,), scrambled values (k,) uint64, rows (k, PACKED_BYTES) uint8."""
        rows = np.asarray(rows, np.uint8).reshape(-1, PACKED_BYTES)
        if not len(record_ids) == len(values) == len(rows):
            raise WatermarkError("one id, one value and one packed row per record")
        with self._lock:
            start, end = self._count, self._count + len(rows)
            if end > len(self._ids):
                self._ids = grown(self._ids, end, start)
                self._values = grown(self._values, end, start)
                self._codewords = grown(self._codewords, end, start)
                self._words = grown(self._words, end, start)
            self._ids[start:end] = record_ids
            self._values[start:end] = values
            self._codewords[start:end, :CODEWORD_BYTES] = rows[:, :CODEWORD_BYTES]
            self._words[start:end] = np.ascontiguousarray(rows[:, CODEWORD_BYTES:]).view("<u4")
            self._count = end

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids (R,), codewords (R, 16) packed uint8, zero-padded, words (R, 12) uint32) of what
        is held now."""
        count = self._count  # read first: rows below it are written and never move
        return self._ids[:count], self._codewords[:count], self._words[:count]

    def payload_hex(self, row: int) -> str:
        return f"{int(self._values[row]):016x}"

    def record_id(self, row: int) -> int:
        return int(self._ids[row])

    @property
    def nbytes(self) -> int:
        arrays = (self._ids, self._values, self._codewords, self._words)
        return sum(array.nbytes for array in arrays)
