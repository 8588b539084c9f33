"""Operational Celery tasks."""

from __future__ import annotations

import platform as stdlib_platform

from celery import shared_task

from audit.actions import AuditAction
from audit.services import audit_record


@shared_task(name="core.worker_probe")
def worker_probe() -> None:
    """Record which Python and which `platform` module a worker really runs (an ops check that
    the platform/ folder never shadows the standard library inside workers)."""
    audit_record(
        action=AuditAction.SYSTEM_WORKER_PROBE,
        details={
            "python_version": stdlib_platform.python_version(),
            "platform_module": getattr(stdlib_platform, "__file__", ""),
        },
    )
