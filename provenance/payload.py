"""The watermark payload: a record id, scrambled with a platform key, BCH-protected, in words.

Layout (all derived from the record id and the platform key, nothing else):

    value    = keyed 64-bit permutation of the record id (4-round Feistel, HMAC-SHA256 rounds)
    codeword = value (64 bits) + BCH(t=3) parity (21 bits) + keyed check bits (5)   -> 90 bits
    chunks   = (codeword XOR keyed 90-bit mask) cut into WORD_COUNT chunks of 30 bits
    word k   = (k in the top 2 bits | chunk k) XOR keyed 32-bit frame mask           -> 32 bits

Why each part:
- The Feistel permutation is invertible, so a detector holding the key recovers the record id, but
  record ids are below 2**RECORD_ID_BITS: a decoded value whose inverse is larger is rejected.
  That gives 32 free check bits and shrinks the codebook the false-positive bound runs over.
- The keyed masks make every embedded word look random: the RivaGAN decoder outputs mostly zeros
  on clean frames (measured, issue 4), so an all-zero codeword must never be a valid one.
- BCH over GF(2^7) (bchlib, a wrapper of the Linux kernel's BCH code) corrects up to 3 bit errors
  left after soft bits are averaged across frames; a maintained package, so not written by hand.
- RivaGAN carries 32 bits per frame, so the 90 bits travel in WORD_COUNT = 3 differently-marked
  appearances, each word naming its position in 2 bits. Three (odd) words keep every word in a
  detector's samples even when every second frame is dropped (15 fps).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import bchlib
import numpy as np

from provenance.errors import WatermarkError

PAYLOAD_BITS = 64
# Record ids are database ids below 2**32 (4.3 billion outputs). Every bit less here is a bit
# more the false-positive bound can spend on errors (measured: 2**40 allowed 3 of 90, too few).
RECORD_ID_BITS = 32
WORD_BITS = 32  # what one RivaGAN-marked frame carries
WORD_COUNT = 3
INDEX_BITS = 2
CHUNK_BITS = WORD_BITS - INDEX_BITS  # 30
BCH_T = 3
BCH_PARITY_BITS = 21  # BCH(t=3, m=7): 7 * t
CHECK_BITS = WORD_COUNT * CHUNK_BITS - PAYLOAD_BITS - BCH_PARITY_BITS  # 5
CODEWORD_BITS = WORD_COUNT * CHUNK_BITS  # 90

_BCH = bchlib.BCH(BCH_T, m=7)
_FEISTEL_ROUNDS = 4
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class WatermarkPayload:
    """What one output's watermark carries.

    `value_hex` is the scrambled 64-bit value (the "watermark id" in the C2PA soft binding);
    `words` are the WORD_COUNT 32-bit words embedded in the frames, word k in appearance k.
    """

    record_id: int
    value_hex: str
    words: tuple[int, ...]


@dataclass(frozen=True)
class DecodedPayload:
    """A codeword read back from frames: the record it names and how well the bits agree."""

    record_id: int
    value_hex: str
    corrected_bits: int  # errors BCH corrected in the 85 protected bits
    agreeing_bits: int  # of CODEWORD_BITS, between the observed bits and the re-encoded codeword


def _prf(key: bytes, label: bytes, nbytes: int) -> bytes:
    """Key-derived pseudorandom bytes, one independent stream per label (HMAC-SHA256 counter)."""
    out = b""
    counter = 0
    while len(out) < nbytes:
        out += hmac.new(key, label + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:nbytes]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise WatermarkError("the platform watermark key must be at least 16 bytes")


def _round(key: bytes, index: int, half: int) -> int:
    return int.from_bytes(_prf(key, b"feistel" + bytes([index]) + half.to_bytes(4, "big"), 4))


def scramble(record_id: int, key: bytes) -> int:
    """Keyed permutation of 64-bit integers (Feistel network): the record id -> payload value."""
    left, right = record_id >> 32, record_id & _MASK32
    for index in range(_FEISTEL_ROUNDS):
        left, right = right, left ^ _round(key, index, right)
    return (left << 32) | right


def unscramble(value: int, key: bytes) -> int:
    """Inverse of `scramble`."""
    left, right = value >> 32, value & _MASK32
    for index in reversed(range(_FEISTEL_ROUNDS)):
        left, right = right ^ _round(key, index, left), left
    return (left << 32) | right


def _bits(value: int, width: int) -> np.ndarray:
    return np.array([(value >> (width - 1 - i)) & 1 for i in range(width)], dtype=np.uint8)


def _int(bits: np.ndarray) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def _codeword_mask(key: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(_prf(key, b"codeword-mask", 12), np.uint8))[:CODEWORD_BITS]


def _check_bits(key: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(_prf(key, b"check-bits", 1), np.uint8))[:CHECK_BITS]


def frame_mask(key: bytes) -> np.ndarray:
    """The keyed 32-bit mask XORed onto every embedded word, as bits (WORD_BITS,) uint8."""
    return np.unpackbits(np.frombuffer(_prf(key, b"frame-mask", 4), np.uint8))


def _parity_bits(value: int) -> np.ndarray:
    ecc = _BCH.encode(value.to_bytes(8, "big"))
    return np.unpackbits(np.frombuffer(ecc, np.uint8))[:BCH_PARITY_BITS]


def codeword_bits(value: int, key: bytes) -> np.ndarray:
    """The masked 90-bit codeword of a payload value, (CODEWORD_BITS,) uint8."""
    plain = np.concatenate([_bits(value, PAYLOAD_BITS), _parity_bits(value), _check_bits(key)])
    return plain ^ _codeword_mask(key)


def words_from_codeword(codeword: np.ndarray, key: bytes) -> tuple[int, ...]:
    """Cut a masked codeword into the WORD_COUNT 32-bit frame words."""
    mask = frame_mask(key)
    words = []
    for k in range(WORD_COUNT):
        chunk = codeword[k * CHUNK_BITS : (k + 1) * CHUNK_BITS]
        word_bits = np.concatenate([_bits(k, INDEX_BITS), chunk]) ^ mask
        words.append(_int(word_bits))
    return tuple(words)


def word_bits(word: int) -> np.ndarray:
    """A 32-bit word as (WORD_BITS,) uint8 bits, most significant first (RivaGAN's bit order)."""
    return _bits(word, WORD_BITS)


def payload_for_record(record_id: int, key: bytes) -> WatermarkPayload:
    """The payload that marks output record `record_id` under the platform `key`."""
    _check_key(key)
    if isinstance(record_id, bool) or not isinstance(record_id, int):
        raise WatermarkError("the record id must be an integer")
    if not 0 <= record_id < 2**RECORD_ID_BITS:
        raise WatermarkError(f"the record id must be in [0, 2**{RECORD_ID_BITS})")
    value = scramble(record_id, key)
    words = words_from_codeword(codeword_bits(value, key), key)
    return WatermarkPayload(record_id=record_id, value_hex=f"{value:016x}", words=words)


def decode_codeword(observed: np.ndarray, key: bytes) -> DecodedPayload | None:
    """Correct and check 90 observed (still masked) codeword bits; None when no record fits.

    Rejects a word BCH cannot correct and a value whose unscrambled record id is out of range;
    the caller judges `agreeing_bits` (the check bits are not required to match, they count).
    """
    _check_key(key)
    plain = (np.asarray(observed, dtype=np.uint8) ^ _codeword_mask(key)).astype(np.uint8)
    data = bytearray(np.packbits(plain[:PAYLOAD_BITS]).tobytes())
    ecc = bytearray(np.packbits(plain[PAYLOAD_BITS : PAYLOAD_BITS + BCH_PARITY_BITS]).tobytes())
    corrected = _BCH.decode(bytes(data), bytes(ecc))
    if corrected < 0:
        return None
    _BCH.correct(data, ecc)
    value = int.from_bytes(bytes(data), "big")
    record_id = unscramble(value, key)
    if record_id >= 2**RECORD_ID_BITS:
        return None
    agreeing = int(np.sum(codeword_bits(value, key) == observed))
    return DecodedPayload(
        record_id=record_id,
        value_hex=f"{value:016x}",
        corrected_bits=corrected,
        agreeing_bits=agreeing,
    )
