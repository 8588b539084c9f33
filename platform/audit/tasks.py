"""Celery tasks of the audit log (an interface like any other: they call services)."""

from __future__ import annotations

from celery import shared_task

from .services import audit_periodic_check


@shared_task(name="audit.checkpoint_and_verify")
def audit_checkpoint_and_verify() -> bool:
    """Every 5 minutes from beat (CELERY_BEAT_SCHEDULE): checkpoint, re-verify, alert on failure.

    Without beat, run `python manage.py audit_maintenance` from cron at the same interval.
    """
    _, ok = audit_periodic_check()
    return ok
