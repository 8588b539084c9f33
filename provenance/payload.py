"""The watermark payload: a record id, scrambled with a platform key, BCH-protected, in words.

Layout (all derived from the record id and the platform key, nothing else):

    value    = keyed 64-bit permutation of the record id (4-round Feistel, HMAC-SHA256 rounds)
    codeword = value (64 bits) + BCH(t=4) parity (28 bits) + keyed check bits (4)   -> 96 bits
    chunks   = (codeword XOR keyed 96-bit mask) cut into DATA_WORDS = 3 chunks of 32 bits
    words    = chunk 0, NOT chunk 0, chunk 1, NOT chunk 1, chunk 2, NOT chunk 2       -> 6 words

Why each part:
- The Feistel permutation is invertible, so a detector holding the key recovers the record id, but
  record ids are below 2**RECORD_ID_BITS: a decoded value whose inverse is larger is rejected.
  That gives 32 free check bits and shrinks the codebook the false-positive bound runs over.
- The keyed mask makes every embedded word look random: the RivaGAN decoder outputs mostly zeros
  on clean frames (measured), so an all-zero codeword must never be a valid one.
- BCH over GF(2^7) (bchlib, a wrapper of the Linux kernel's BCH code) corrects up to 4 bit errors
  left after soft bits are averaged across frames; a maintained package, so not written by hand.
- RivaGAN carries 32 bits per frame, so the 96 bits travel in 3 data words. Each data word is
  carried by a pair of appearances, one marked with it and one with its complement (the same
  residual, subtracted). The decoder responds to the picture itself with a bias that is the same
  for both (measured: it flipped ~8 of 90 bits in every frame alike after two H.264 encodes); the
  difference of the pair's mean responses cancels it exactly, bit for bit.
- No index bits: the detector knows which samples carry which word (and bit order) from the
  schedule, a re-timed copy mapped back to it by time; the false-positive bound multiplies by
  every phase of the schedule it tries.
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
DATA_WORDS = 3  # 96 codeword bits: 64 would leave no room for errors under the 1e-9 bound
WORD_COUNT = 2 * DATA_WORDS  # frame words: each data word and its complement
BCH_T = 4
BCH_PARITY_BITS = 28  # BCH(t=4, m=7): 7 * t
CODEWORD_BITS = DATA_WORDS * WORD_BITS  # 96
CHECK_BITS = CODEWORD_BITS - PAYLOAD_BITS - BCH_PARITY_BITS  # 4

_BCH = bchlib.BCH(BCH_T, m=7)
_FEISTEL_ROUNDS = 4
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class WatermarkPayload:
    """What one output's watermark carries.

    `value_hex` is the scrambled 64-bit value (the "watermark id" in the C2PA soft binding);
    `words` are the WORD_COUNT 32-bit words embedded in the frames, word k in appearance k:
    data word j is words[2j] and its complement words[2j + 1].
    """

    record_id: int
    value_hex: str
    words: tuple[int, ...]


@dataclass(frozen=True)
class DecodedPayload:
    """A codeword read back from frames: the record it names and how well the bits agree."""

    record_id: int
    value_hex: str
    corrected_bits: int  # errors BCH corrected in the 92 protected bits
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
    return np.unpackbits(np.frombuffer(_prf(key, b"codeword-mask-96", 12), np.uint8))[
        :CODEWORD_BITS
    ]


def _check_bits(key: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(_prf(key, b"check-bits", 1), np.uint8))[:CHECK_BITS]


def _parity_bits(value: int) -> np.ndarray:
    ecc = _BCH.encode(value.to_bytes(8, "big"))
    return np.unpackbits(np.frombuffer(ecc, np.uint8))[:BCH_PARITY_BITS]


def codeword_bits(value: int, key: bytes) -> np.ndarray:
    """The masked 96-bit codeword of a payload value, (CODEWORD_BITS,) uint8."""
    plain = np.concatenate([_bits(value, PAYLOAD_BITS), _parity_bits(value), _check_bits(key)])
    return plain ^ _codeword_mask(key)


def words_from_codeword(codeword: np.ndarray, key: bytes) -> tuple[int, ...]:
    """Cut a masked codeword into the WORD_COUNT 32-bit frame words (each chunk, then its NOT).

    `key` is unused since v2 (the codeword is already masked); kept so callers need not change.
    """
    words = []
    for k in range(DATA_WORDS):
        chunk = _int(codeword[k * WORD_BITS : (k + 1) * WORD_BITS])
        words += [chunk, chunk ^ _MASK32]
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
    """Correct and check 96 observed (still masked) codeword bits; None when no record fits.

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
