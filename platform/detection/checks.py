"""The four checks on sampled frames: watermark, C2PA, PDQ fingerprint, protected likeness.

Plain functions over provenance and generator: no database here. The registry's facts come in
as small values (`RegisteredPayload`, fingerprint pairs, protected descriptors), so every check
can be tested and timed alone.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.image_shape import image_shape_problem
from generator.face_analysis import face_descriptors
from provenance.fingerprint import MATCH_DISTANCE, PDQ_BITS, pdq_hash
from provenance.manifest import ManifestReport, read_manifest
from provenance.payload import (
    CODEWORD_BITS,
    WORD_BITS,
    WORD_COUNT,
    codeword_bits,
    words_from_codeword,
)
from provenance.watermark import (
    BIT_ORDERS,
    GROUPINGS,
    MAX_FALSE_POSITIVE,
    SCHEDULE_FPS,
    WatermarkDetection,
    best_known_payload,
    binomial_false_positive,
    decode_looks,
    detect_from_logits,
    detection_looks,
    holds_every_word,
    ordered_word,
    run_at,
)

# A registered payload whose words the frames carry beyond this chance level is evidence of an
# altered copy even when the blind decoder cannot read the whole codeword (a still image carries
# one of the three words). At <= MAX_FALSE_POSITIVE (1e-9) it identifies, like the blind decoder.
PARTIAL_MAX_FALSE_POSITIVE = 1e-6
# Up to three looks (the early frames, every sampled frame, those plus the second-look frames),
# each blind and against the registry: a sixth of the 1e-9 budget each (union bound).
LOOK_MAX_FALSE_POSITIVE = MAX_FALSE_POSITIVE / 6
# After a look that does not identify, decode more frames only if some registered payload
# already explains the frames this much better than chance (unrelated media sits near 1).
EARLY_STOP_FALSE_POSITIVE = 1e-2
# PDQ's authors: hashes of quality below 50 (flat, featureless frames) match too much to trust.
PDQ_MIN_QUALITY = 50
# dlib's own threshold for "same person" (99.4% on LFW). A miss lets an impersonation through
# unreported, a false alert costs an owner a look, so we do not tighten it.
LIKENESS_MAX_DISTANCE = 0.6
# Faces in talking-head frames are large; HOG on a frame this size finds them ~4x faster than
# at 512 px and dlib's descriptor works on a 150 px chip anyway.
FACE_FRAME_SIDE = 320


@dataclass(frozen=True)
class RegisteredPayload:
    """One published output's watermark payload, as the registry stores it."""

    record_id: int
    payload_hex: str


@dataclass(frozen=True)
class WatermarkCheck:
    """Blind decoding (any record id) and, when that fails, matching against registered payloads.

    `identified` only when the procedure as a whole stays within a false-positive bound of 1e-9
    (see watermark_check); `method` says which look identified ("decoded", "registry_match"),
    or "" when none did.
    """

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of bits agreeing with the payload that was read or matched
    false_positive_probability: float
    frames_used: int
    method: str
    partial_record_id: int | None  # a registered payload matched at <= 1e-6 but not identified
    partial_false_positive: float


@dataclass(frozen=True)
class FingerprintCheck:
    """The nearest registered PDQ hash to any usable sampled frame."""

    record_id: int | None  # the nearest record when within MATCH_DISTANCE
    distance: int | None  # None when the registry is empty or no frame had a usable hash
    nearest_record_id: int | None
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class LikenessCheck:
    """The closest protected identity to any face in the face frame."""

    faces: int
    identity_id: int | None  # set only within LIKENESS_MAX_DISTANCE
    distance: float | None


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


def _registry_match(
    logits: np.ndarray,
    key: bytes,
    registered: Sequence[RegisteredPayload],
    runs: np.ndarray | None = None,
) -> tuple[RegisteredPayload, float, float] | None:
    """The registered payload that best explains the sampled frames, its bound and agreement.

    When the samples hold every word (by `runs`), each payload's whole 96-bit codeword is
    compared with the frames grouped as blind detection groups them (the schedule's pair
    differences), bits weighted by reliability (soft decision): R x GROUPINGS hypotheses.
    Otherwise (a still image carries one word) each frame is compared with each word a payload's
    frames can carry (every word in every bit order), and the union runs over every way of
    assigning words to the frames.
    """
    if not registered or len(logits) == 0:
        return None
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    if holds_every_word(runs):
        codewords = np.frombuffer(
            b"".join(_payload_codeword(p.payload_hex, key) for p in registered), np.uint8
        ).reshape(len(registered), CODEWORD_BITS)  # (R, 96)
        match = best_known_payload(logits, codewords, runs)
        fp = min(1.0, match.tail * len(registered) * GROUPINGS)
        return registered[match.row], fp, match.agreeing_bits / CODEWORD_BITS
    # Bits packed into uint32 (most significant first, as word_bits orders them), so a registry
    # of R outputs costs R x n x K popcounts, not R x n x K x 32 booleans.
    weights = (1 << np.arange(WORD_BITS - 1, -1, -1, dtype=np.uint64)).astype(np.uint64)
    observed = ((logits > 0).astype(np.uint64) @ weights).astype(np.uint32)  # (n,)
    words = np.array(
        [_payload_words(p.payload_hex, key) for p in registered], dtype=np.uint32
    )  # (R, K)
    differing = np.bitwise_count(observed[None, :, None] ^ words[:, None, :])  # (R, n, K)
    agreement = WORD_BITS - differing.astype(np.int64)
    per_record = agreement.max(axis=2).sum(axis=1)  # (R,)
    best = int(np.argmax(per_record))
    total = len(logits) * WORD_BITS
    candidates = len(registered) * words.shape[1] ** len(logits)
    fp = binomial_false_positive(int(per_record[best]), total, candidates)
    return registered[best], fp, float(per_record[best]) / total


def _identified_blind(
    logits: np.ndarray, key: bytes, runs: np.ndarray | None
) -> WatermarkDetection | None:
    detection = detect_from_logits(logits, key, runs=runs)
    if detection.identified and detection.false_positive_probability <= LOOK_MAX_FALSE_POSITIVE:
        return detection
    return None


def _decoded(detection: WatermarkDetection) -> WatermarkCheck:
    return WatermarkCheck(
        identified=True,
        record_id=detection.record_id,
        value_hex=detection.value_hex,
        confidence=detection.confidence,
        false_positive_probability=detection.false_positive_probability,
        frames_used=detection.frames_used,
        method="decoded",
        partial_record_id=None,
        partial_false_positive=1.0,
    )


def _not_identified(blind: WatermarkDetection) -> WatermarkCheck:
    return WatermarkCheck(
        identified=False,
        record_id=None,
        value_hex=None,
        confidence=blind.confidence,
        false_positive_probability=blind.false_positive_probability,
        frames_used=blind.frames_used,
        method="",
        partial_record_id=None,
        partial_false_positive=1.0,
    )


def _registry_identified(
    match: tuple[RegisteredPayload, float, float], frames_used: int
) -> WatermarkCheck:
    payload, fp, agreement = match
    return WatermarkCheck(
        identified=True,
        record_id=payload.record_id,
        value_hex=payload.payload_hex,
        confidence=agreement,
        false_positive_probability=fp,
        frames_used=frames_used,
        method="registry_match",
        partial_record_id=None,
        partial_false_positive=fp,
    )


def watermark_check(
    frames: Sequence[np.ndarray],
    key: bytes,
    registered: Sequence[RegisteredPayload],
    positions: Sequence[int] | None = None,
    more_frames: Sequence[np.ndarray] = (),
    more_positions: Sequence[int] | None = None,
    fps: float | None = SCHEDULE_FPS,
) -> WatermarkCheck:
    """Decode the watermark of sampled frames; identify the record at <= 1e-9 or report none.

    `positions`: each frame's index in the upload (default: the middles of consecutive runs,
    as `sample_positions` gives for a clip of 16 runs or more), which plays at `fps`; a copy
    that keeps the frame timing, or is mapped back to it by time (`run_at`), carries the word
    the schedule gives each index, which groups the frames exactly.
    `more_frames` (at `more_positions`): settled frames for a last look at a faint mark.

    Up to three looks at growing sets of frames: one frame per word (enough for an intact or
    lightly re-encoded output, and cheapest), every sampled frame, then the more frames too.
    Each look decodes blind, then matches the registry (R registered payloads are R x 24
    hypotheses instead of the blind decoder's 2**32 x 24, so a mark too faint to decode blind
    still identifies its record); each of the six tries must pass a sixth of the 1e-9 budget.
    A look that leaves no registered payload better than chance (1e-2) ends the check: stopping
    can only lower the chance of identifying, so the budget is untouched.
    """
    frames, more_frames = list(frames), list(more_frames)
    if positions is not None and len(positions) != len(frames):
        raise ValueError("one position per frame")
    if more_frames and (more_positions is None or len(more_positions) != len(more_frames)):
        raise ValueError("one position per further frame")
    if positions is None:  # consecutive runs: each sample's run number is its own
        at = np.arange(len(frames) + len(more_frames))  # (n + m,) time order
        runs = at
    else:
        at = np.array([*positions, *(more_positions or ())])  # (n + m,) frame indices
        runs = np.array([run_at(i, fps) for i in at.tolist()])  # (n + m,)
    looks = detection_looks(runs, at, len(frames))
    frames = frames + more_frames
    match, frames_used = None, 0
    for look, look_logits in decode_looks(frames, looks):
        frames_used = len(look)  # the looks grow: the last one taken holds every decoded frame
        look_runs = runs[look]  # (n,)
        found = _identified_blind(look_logits, key, look_runs)
        if found is not None:
            return _decoded(found)
        blind = detect_from_logits(look_logits, key, runs=look_runs)
        match = _registry_match(look_logits, key, registered, look_runs)
        if match is not None and match[1] <= LOOK_MAX_FALSE_POSITIVE and len(look) >= WORD_COUNT:
            return _registry_identified(match, len(look))
        if match is None or match[1] > EARLY_STOP_FALSE_POSITIVE:
            break
    if match is not None and match[1] <= PARTIAL_MAX_FALSE_POSITIVE:
        # Fewer frames than words (a still carries one) can point at a record, never identify it;
        # so can a mark matched beyond 1e-6 but short of the bound.
        payload, fp, agreement = match
        return WatermarkCheck(
            identified=False,
            record_id=None,
            value_hex=None,
            confidence=agreement,
            false_positive_probability=blind.false_positive_probability,
            frames_used=frames_used,
            method="",
            partial_record_id=payload.record_id,
            partial_false_positive=fp,
        )
    return dataclasses.replace(_not_identified(blind), frames_used=frames_used)


def c2pa_check(path: str | os.PathLike[str], trust_anchor_pem: bytes) -> ManifestReport:
    """The manifest's state (trusted / untrusted / tampered / missing), codes and assertions."""
    return read_manifest(path, trust_anchor_pem)


def _hash_matrix(hashes: Sequence[str]) -> np.ndarray:
    """(N, 256) bool bits of hex PDQ hashes, for vectorised Hamming distances."""
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), np.uint8)
    return np.unpackbits(raw).reshape(len(hashes), PDQ_BITS).astype(bool)


def fingerprint_check(
    frames: Sequence[np.ndarray], registered: Sequence[tuple[int, str]]
) -> FingerprintCheck:
    """PDQ-hash the frames and find the nearest registered (record_id, hash) pair."""
    hashes = []
    for frame in frames:
        value, quality = pdq_hash(frame)
        if quality >= PDQ_MIN_QUALITY:
            hashes.append(value)
    if not hashes or not registered:
        return FingerprintCheck(None, None, None, tuple(hashes))
    query = _hash_matrix(hashes)  # (Q, 256)
    reference = _hash_matrix([h for _, h in registered])  # (M, 256)
    distances = (query[:, None, :] != reference[None, :, :]).sum(axis=2)  # (Q, M)
    nearest = int(np.argmin(distances.min(axis=0)))
    distance = int(distances[:, nearest].min())
    record_id = registered[nearest][0]
    return FingerprintCheck(
        record_id=record_id if distance <= MATCH_DISTANCE else None,
        distance=distance,
        nearest_record_id=record_id,
        hashes=tuple(hashes),
    )


def likeness_check(frame: np.ndarray, protected: Sequence[tuple[int, np.ndarray]]) -> LikenessCheck:
    """Compare every face in `frame` with the protected identities' reference descriptors."""
    if not protected:
        return LikenessCheck(faces=0, identity_id=None, distance=None)
    height, width = frame.shape[:2]
    if image_shape_problem(width, height) is not None:
        # A strip a few pixels high holds no face, and dlib would raise on it.
        return LikenessCheck(faces=0, identity_id=None, distance=None)
    scale = FACE_FRAME_SIDE / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    descriptors = face_descriptors(np.ascontiguousarray(frame))
    if not descriptors:
        return LikenessCheck(faces=0, identity_id=None, distance=None)
    faces = np.stack(descriptors).astype(np.float32)  # (F, 128)
    references = np.stack([np.asarray(d, np.float32) for _, d in protected])  # (P, 128)
    distances = np.linalg.norm(faces[:, None, :] - references[None, :, :], axis=2)  # (F, P)
    closest = int(np.argmin(distances.min(axis=0)))
    distance = float(distances[:, closest].min())
    return LikenessCheck(
        faces=len(descriptors),
        identity_id=protected[closest][0] if distance <= LIKENESS_MAX_DISTANCE else None,
        distance=distance,
    )
