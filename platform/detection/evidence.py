"""The evidence page's pictures: one frame of the upload beside the registry frame it matched.

The upload itself is deleted after its check; what is kept is a thumbnail of one frame, small
enough to show what was checked (THUMBNAIL_SIDE px) and too small to republish. The registry
frame is read from the published output when the platform still stores it. The record shown is
the one the verdict names, or else the first-ranked candidate, labelled as unproven.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings

from jobs.selectors import output_record_by_id
from provenance.errors import ProvenanceError
from provenance.fingerprint import pdq_distance, pdq_hash
from provenance.media import probe, video_frames_at

from .sampling import SampledUpload
from .verdict import Verdict

THUMBNAIL_SIDE = 160  # px, the longer side
THUMBNAIL_QUALITY = 80


def thumbnail_data_uri(frame: np.ndarray) -> str:
    """A small JPEG of an RGB frame as a data: URI (the page needs no file to serve)."""
    height, width = frame.shape[:2]
    scale = min(1.0, THUMBNAIL_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(
        ".jpg",
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY],
    )
    if not ok:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")


def _nearest_pair(
    frames: Sequence[np.ndarray], prints: Sequence[str]
) -> tuple[int | None, int | None, int | None]:
    """(upload frame, registry second, distance) of the nearest PDQ pair, or Nones."""
    best = (None, None, None)
    for index, frame in enumerate(frames):
        value, _quality = pdq_hash(frame)
        for second, registered in enumerate(prints):
            distance = pdq_distance(value, registered)
            if best[2] is None or distance < best[2]:
                best = (index, second, distance)
    return best


def evidence_frames(sample: SampledUpload, verdict: Verdict) -> dict:
    """The upload's thumbnail and the matched registry frame's, or why there is none."""
    record_id = verdict.record_id
    proven = record_id is not None
    if record_id is None and verdict.candidates:
        record_id = verdict.candidates[0].record_id
    frames = sample.fingerprint_frames or [sample.face_frame]
    result: dict = {"upload": None, "registry": None, "note": ""}
    record = output_record_by_id(record_id) if record_id is not None else None
    index, second, distance = (None, None, None)
    if record is not None and record.fingerprints:
        index, second, distance = _nearest_pair(frames, record.fingerprints)
    upload_index = index if index is not None else len(frames) // 2
    result["upload"] = {"image": thumbnail_data_uri(frames[upload_index])}
    if record is None:
        result["note"] = "No platform record matched, so there is no registry frame to compare."
        return result
    registry_frame, why = _registry_frame(record, second or 0)
    result["registry"] = {
        "record_id": record.pk,
        "proven": proven,
        "second": second or 0,
        "pdq_distance": distance,
        "image": thumbnail_data_uri(registry_frame) if registry_frame is not None else None,
    }
    if registry_frame is None:
        result["note"] = why
    elif not proven:
        result["note"] = (
            "The registry frame is from the first-ranked candidate; the evidence does not prove "
            "the copy comes from it."
        )
    return result


def _registry_frame(record, second: int) -> tuple[np.ndarray | None, str]:
    """The published output's frame at `second`, or None and why."""
    if record.media_deleted_at is not None:
        return None, "The published file was deleted with the person's data; only its facts remain."
    path = Path(settings.MEDIA_ROOT) / record.file_path
    try:
        info = probe(path)
        wanted = min(info.frame_count - 1, round(second * info.fps))
        frame = video_frames_at(path, [wanted]).get(wanted)
    except ProvenanceError:
        frame = None
    if frame is None:
        return None, "The published file is not stored any more."
    return frame, ""
