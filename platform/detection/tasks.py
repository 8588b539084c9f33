"""The asynchronous check of long clips: a thin Celery interface over run.detection_complete."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init
from django.db import DatabaseError, connections

from .heap import release_freed_memory
from .index import live_registry
from .run import detection_complete

logger = logging.getLogger(__name__)
# config.celery_app routes detection.* here; `make run` starts a worker for it alone (-Q).
DETECTION_QUEUE = "detection"


def consumes_detection_queue(worker) -> bool:
    """Whether a starting worker takes detection tasks (`-Q detection`, or no -Q at all with
    nothing routed: every queue it knows)."""
    return DETECTION_QUEUE in worker.app.amqp.queues.consume_from


@worker_init.connect
def _load_registry(sender=None, **kwargs) -> None:
    """Load the registry in a detection worker's main process, before the pool forks: every
    child starts with it (shared copy-on-write until it appends) and polls for what is newer.
    A worker that takes no detection task never loads it."""
    if sender is None or not consumes_detection_queue(sender):
        return
    try:
        live_registry()
    except DatabaseError:  # e.g. not migrated yet: the first check loads it instead
        logger.exception("could not load the detection registry at worker start")
    connections.close_all()  # the children must not share this process's connection


@shared_task(name="detection.run_detection", acks_late=True, reject_on_worker_lost=True)
def run_detection(detection_id: str) -> str:
    """Check the stored upload of pending detection `detection_id` (idempotent)."""
    try:
        result = detection_complete(detection_id=detection_id)
    finally:
        release_freed_memory()
    return result.status if result is not None else "skipped"
