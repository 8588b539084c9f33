"""The reaper: jobs whose worker died are handed to another worker, or failed with a reason.

A SIGKILLed or OOM-killed worker cannot record anything. With Redis the unacknowledged message
comes back after the visibility timeout; with the filesystem broker it is gone for good, so the
job would read "running" forever. Beat runs `job_reap_stale` every JOBS_REAP_SECONDS:

- a running job whose heartbeat (progress_at) is older than JOBS_LEASE_SECONDS lost its worker:
  its partial files are removed and it is queued again, until it has been started
  JOBS_MAX_ATTEMPTS times; then it fails with code `worker_lost`;
- a queued job that no worker started within JOBS_TICKET_MINUTES of its (re)dispatch fails with
  code `queue_timeout`: a first start that late would be refused anyway (its ticket expired),
  and a message lost on the way must not leave the job waiting forever.

The task that runs the reaper dispatches the requeued jobs once the reaper has committed.
Re-dispatching is safe beside a broker's own redelivery: `job_run` claims a job for one attempt
at a time, and a duplicate message finds it busy or final.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record

from . import inputs
from .finish import job_finish
from .models import GenerationJob, JobStage, JobStatus


@dataclass(frozen=True)
class ReapReport:
    requeued: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


@transaction.atomic
def job_reap_stale(*, now=None) -> ReapReport:
    """Requeue or fail every job whose worker is presumed dead (see the module docstring)."""
    now = now or timezone.now()
    lease_cut = now - timedelta(seconds=settings.JOBS_LEASE_SECONDS)
    queue_cut = now - timedelta(minutes=settings.JOBS_TICKET_MINUTES)
    stale = GenerationJob.objects.select_for_update().filter(
        Q(status=JobStatus.RUNNING)
        & (Q(progress_at__lt=lease_cut) | Q(progress_at__isnull=True, started_at__lt=lease_cut))
        | Q(status=JobStatus.QUEUED)
        & (Q(progress_at__lt=queue_cut) | Q(progress_at__isnull=True, created_at__lt=queue_cut))
    )
    requeued: list[int] = []
    failed: list[int] = []
    for job in stale:
        job_id = job.pk
        transaction.on_commit(lambda job_id=job_id: _remove_partial_files(job_id))
        if job.status == JobStatus.RUNNING and job.attempts < settings.JOBS_MAX_ATTEMPTS:
            job.status = JobStatus.QUEUED
            job.stage = JobStage.QUEUED
            job.run_token = ""  # the dead attempt owns nothing now
            job.progress = 0.0
            job.frames_done = 0
            job.progress_at = now  # when it was dispatched again: the queue timeout counts from it
            job.save(
                update_fields=[
                    "status",
                    "stage",
                    "run_token",
                    "progress",
                    "frames_done",
                    "progress_at",
                ]
            )
            audit_record(
                action=AuditAction.JOB_REQUEUED,
                subject_type="job",
                subject_id=job_id,
                reason="its worker stopped answering",
                details={"job_id": job_id, "attempts": job.attempts},
            )
            requeued.append(job_id)
            continue
        if job.status == JobStatus.RUNNING:
            code = "worker_lost"
            reason = (
                f"The worker running this job stopped {job.attempts} times (killed or out of "
                "memory), so the job was stopped."
            )
        else:
            code = "queue_timeout"
            reason = (
                f"No worker started this job within {settings.JOBS_TICKET_MINUTES} minutes, "
                "so it was stopped."
            )
        job_finish(job, status=JobStatus.FAILED, code=code, reason=reason, now=now)
        audit_record(
            action=AuditAction.JOB_FAILED,
            outcome="error",
            subject_type="job",
            subject_id=job_id,
            reason=reason,
            details={"job_id": job_id, "code": code, "identity_id": job.identity_id},
        )
        failed.append(job_id)
    return ReapReport(requeued=tuple(requeued), failed=tuple(failed))


def _remove_partial_files(job_id: int) -> None:
    # Only unfinished jobs are reaped, and an unfinished job has no published file: whatever is
    # in its folder is what a dead attempt left (an `.unsigned.mp4`, a half-signed copy).
    shutil.rmtree(inputs.job_output_dir(job_id), ignore_errors=True)
