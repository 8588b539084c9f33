"""The asynchronous check of long clips: a thin Celery interface over detection_complete."""

from __future__ import annotations

from celery import shared_task

from .services import detection_complete


@shared_task(name="detection.run_detection", acks_late=True, reject_on_worker_lost=True)
def run_detection(detection_id: str) -> str:
    """Check the stored upload of pending detection `detection_id` (idempotent)."""
    result = detection_complete(detection_id=detection_id)
    return result.status if result is not None else "skipped"
