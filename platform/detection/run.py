"""The worker's half of an asynchronous check: analyse the stored upload, record, delete it.

Kept apart from `services` because the Celery task calls it while `services` enqueues that
task: `services` -> `tasks` -> `run` -> `analysis`, one direction.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from provenance.errors import ProvenanceError

from .analysis import DetectionResult, detection_analyse, detection_record, detection_result
from .models import Detection, DetectionStatus

logger = logging.getLogger(__name__)


def detection_complete(*, detection_id: str) -> DetectionResult | None:
    """Analyse the stored upload of pending detection `detection_id`, record, delete the file.

    Idempotent: a detection that is no longer pending (a redelivered task) is left alone.
    """
    detection = Detection.objects.select_related("requested_by").filter(pk=detection_id).first()
    if detection is None or detection.status != DetectionStatus.PENDING:
        return None
    path = Path(settings.MEDIA_ROOT) / detection.pending_file
    try:
        analysis = detection_analyse(path)
    except ProvenanceError as error:
        _fail(detection, error.code, error.message)
        return detection_result(detection)
    except Exception:
        # Never leave a detection pending forever: the poller sees a failure, the log the cause.
        logger.exception("detection %s failed", detection_id)
        _fail(detection, "server_error", "The check failed on our side; it has been logged.")
        return detection_result(detection)
    finally:
        path.unlink(missing_ok=True)
    detection.pending_file = ""
    return detection_result(detection_record(detection, analysis, detection.requested_by))


@transaction.atomic
def _fail(detection: Detection, code: str, message: str) -> None:
    detection.status = DetectionStatus.FAILED
    detection.failure_code = code
    detection.failure_message = message
    detection.pending_file = ""
    detection.completed_at = timezone.now()
    detection.save()
    audit_record(
        action=AuditAction.DETECTION_CHECKED,
        outcome="error",
        actor=detection.requested_by,
        subject_type="detection",
        subject_id=str(detection.pk),
        reason=message,
        details={"upload_sha256": detection.upload_sha256, "verdict": "", "record_id": None},
    )
