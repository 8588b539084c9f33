"""The platform's own checks on sampled frames: PDQ fingerprints and protected likeness.

The watermark and C2PA are provenance's (`detect_sampled`, `read_manifest`). Plain functions
over provenance and generator: no database here. The registry's facts come in as small values
(fingerprint pairs, protected descriptors), so every check can be tested and timed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.image_shape import image_shape_problem
from generator.face_analysis import face_descriptors
from provenance.fingerprint import MATCH_DISTANCE, pdq_hash
from provenance.fingerprint_index import PdqIndex

# PDQ's authors: hashes of quality below 50 (flat, featureless frames) match too much to trust.
PDQ_MIN_QUALITY = 50
# dlib's own threshold for "same person" (99.4% on LFW). A miss lets an impersonation through
# unreported, a false alert costs an owner a look, so we do not tighten it.
LIKENESS_MAX_DISTANCE = 0.6
# Faces in talking-head frames are large; HOG on a frame this size finds them ~4x faster than
# at 512 px and dlib's descriptor works on a 150 px chip anyway.
FACE_FRAME_SIDE = 320


@dataclass(frozen=True)
class FingerprintCheck:
    """The registered PDQ hashes near the usable sampled frames.

    Evidence of which records a copy may come from, never of which one it does: clips of one
    person made from one portrait are as near to each other as to their own copies.
    """

    distance: int | None  # None when the registry is empty or no frame had a usable hash
    nearest_record_id: int | None
    hashes: tuple[str, ...]
    # Every record within MATCH_DISTANCE as (record id, its nearest distance), nearest first.
    candidates: tuple[tuple[int, int], ...] = ()

    @property
    def record_id(self) -> int | None:
        """The nearest record when within MATCH_DISTANCE (a candidate, not an attribution)."""
        return self.candidates[0][0] if self.candidates else None


@dataclass(frozen=True)
class LikenessCheck:
    """The closest protected identity to any face in the face frame."""

    faces: int
    identity_id: int | None  # set only within LIKENESS_MAX_DISTANCE
    distance: float | None
    checked: bool = True  # False: not run, because the file's provenance was proven


# What a proven answer carries instead of a face check: the record names whose likeness it
# shows, and a likeness alert is only ever raised for content without platform provenance.
LIKENESS_NOT_NEEDED = LikenessCheck(faces=0, identity_id=None, distance=None, checked=False)


def fingerprint_check(
    frames: Sequence[np.ndarray], registered: PdqIndex | Sequence[tuple[int, str]]
) -> FingerprintCheck:
    """PDQ-hash the frames and find the registered hashes near them.

    `registered`: the registry's PdqIndex, or a few (record_id, PDQ hex) pairs, indexed here.
    """
    hashes = []
    for frame in frames:
        value, quality = pdq_hash(frame)
        if quality >= PDQ_MIN_QUALITY:
            hashes.append(value)
    index = registered if isinstance(registered, PdqIndex) else PdqIndex.from_pairs(registered)
    matches = index.search(hashes, MATCH_DISTANCE)
    if matches.nearest is None:
        return FingerprintCheck(None, None, tuple(hashes))
    nearest_id, distance = matches.nearest
    return FingerprintCheck(
        distance=distance,
        nearest_record_id=nearest_id,
        hashes=tuple(hashes),
        candidates=matches.within,
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
