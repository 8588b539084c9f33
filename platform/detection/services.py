"""Detection services: check a file, record the verdict, alert owners, keep only the hash.

`detection_run` checks a file at a path the caller owns (the CLI's argument) and never deletes
it. Uploads go through `detection_check_upload`, which stores the upload under a random name,
checks it (here, or in a worker for long clips) and deletes it whatever happens.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from provenance.errors import MediaError
from provenance.media import probe, sha256_file

from .analysis import (
    DetectionResult,
    detection_analyse,
    detection_limits,
    detection_record,
    detection_result,
)
from .capacity import detection_pending_room_check, detection_slot
from .models import Detection, DetectionStatus, LikenessAlert
from .tasks import run_detection

UPLOAD_FOLDER = "detection"  # under MEDIA_ROOT; files live there only while being checked
_CHUNK = 2**20


def _requester(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def detection_run(*, path: str | os.PathLike[str], actor=None) -> DetectionResult:
    """Check the file at `path` (an image or a video, judged by its bytes) and record the verdict.

    Never deletes `path`. Raises provenance's MediaError (stable code, one-line message) for an
    unreadable, empty, truncated, unsupported or over-cap file; nothing is recorded then.
    """
    analysis = detection_analyse(path)
    detection = Detection(requested_by=_requester(actor), status=DetectionStatus.PENDING)
    return detection_result(detection_record(detection, analysis, actor))


def _store_upload(upload) -> tuple[Path, str]:
    """Write an uploaded file under MEDIA_ROOT with a random name, refusing it past the byte cap.

    The upload's own name is attacker-chosen and never used.
    """
    folder = Path(settings.MEDIA_ROOT) / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / secrets.token_hex(16)
    limit = settings.DETECTION_MAX_BYTES
    written = 0
    try:
        with open(path, "xb") as handle:
            for chunk in upload.chunks(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise MediaError(
                        f"the upload exceeds the cap of {limit} bytes", code="media_too_large"
                    )
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if written == 0:
        path.unlink(missing_ok=True)
        raise MediaError("the file is empty", code="empty_media")
    return path, str(path.relative_to(settings.MEDIA_ROOT))


def detection_check_upload(*, upload, actor=None) -> DetectionResult:
    """Check an uploaded file: images and clips up to DETECTION_SYNC_MAX_SECONDS now, longer
    clips in a worker (the result is then pending; poll the detection).

    The upload is deleted after its check (here, or by the worker), whatever the outcome. Raises
    ApplicationError (code "detection_busy", status 503) when the platform runs its most checks
    at once.
    """
    with detection_slot():
        path, relative = _store_upload(upload)
        handed_over = False
        try:
            info = probe(path, detection_limits())  # headers and a demux pass: cheap, fails early
            if info.kind == "video" and info.duration_s > settings.DETECTION_SYNC_MAX_SECONDS:
                detection_pending_room_check()
                detection = _detection_enqueue(relative, sha256_file(path), actor)
                handed_over = True
                return detection_result(detection)
            return detection_run(path=path, actor=actor)
        finally:
            if not handed_over:
                path.unlink(missing_ok=True)


@transaction.atomic
def _detection_enqueue(relative: str, upload_sha256: str, actor) -> Detection:
    detection = Detection(
        requested_by=_requester(actor),
        status=DetectionStatus.PENDING,
        upload_sha256=upload_sha256,
        media_kind="video",
        pending_file=relative,
    )
    detection.full_clean()
    detection.save()
    detection_id = str(detection.pk)
    transaction.on_commit(lambda: run_detection.delay(detection_id))
    return detection


def likeness_alerts_mark_seen(*, owner) -> int:
    """Mark the owner's unseen likeness alerts as seen; returns how many."""
    return LikenessAlert.objects.filter(owner=owner, seen_at__isnull=True).update(
        seen_at=timezone.now()
    )
