"""The end of a job: `job_finish` puts a row in a final state, `job_fail` ends a run that
could not publish, `output_record_save` registers what one did publish. Submission, the run, the
reaper, revocation, erasure and live sessions all end jobs here."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record

from . import inputs
from .errors import JobRefusedError
from .models import GenerationJob, JobStage, JobStatus, OutputRecord


def job_finish(job: GenerationJob, *, status: str, code: str, reason: str, now) -> None:
    """Put a locked job row in a final state and drop its stored inputs (after commit)."""
    job.status = status
    job.stage = {
        JobStatus.DONE: JobStage.DONE,
        JobStatus.FAILED: JobStage.FAILED,
        JobStatus.CANCELLED: JobStage.CANCELLED,
    }[status]
    job.failure_code = code
    job.failure_reason = reason
    job.finished_at = now
    if status == JobStatus.DONE:
        job.progress = 1.0
    # An ended job keeps its inputs' hashes (in the ticket, the manifest and the audit log), not
    # the portrait and speech themselves.
    inputs.inputs_remove_on_commit([job.audio_file, job.portrait_file])
    job.audio_file = job.portrait_file = ""
    job.save(
        update_fields=[
            "status",
            "stage",
            "failure_code",
            "failure_reason",
            "finished_at",
            "progress",
            "audio_file",
            "portrait_file",
        ]
    )


def job_fail(*, job: GenerationJob, error: JobRefusedError) -> None:
    """End this attempt's job failed (or cancelled when `error.cancel`) and log why.

    Only the attempt that owns the row (its `run_token`) ends it, once: a job the reaper or a
    redelivery handed to another attempt is left to that attempt.
    """
    status = JobStatus.CANCELLED if error.cancel else JobStatus.FAILED
    with transaction.atomic():
        fresh = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if fresh.run_token != job.run_token:
            # The reaper or a redelivery gave the job to another attempt: its folder and its
            # row are that attempt's now.
            return
        shutil.rmtree(inputs.job_output_dir(job.pk), ignore_errors=True)
        if fresh.is_final:
            return  # revocation already cancelled it and logged that
        job_finish(fresh, status=status, code=error.code, reason=error.message, now=timezone.now())
        audit_record(
            action=AuditAction.JOB_CANCELLED
            if status == JobStatus.CANCELLED
            else AuditAction.JOB_FAILED,
            outcome="denied" if status == JobStatus.CANCELLED else "error",
            subject_type="job",
            subject_id=job.pk,
            reason=error.message,
            details={"job_id": job.pk, "code": error.code, "identity_id": job.identity_id},
        )


def output_record_save(*, job: GenerationJob, published, published_at) -> OutputRecord:
    """The registry entry for a signed output of `job` (a `provenance.publish` result): what
    detection, downloads and erasure read. Offline runs and live recordings both register here."""
    record = OutputRecord(
        job=job,
        file_path=str(
            Path(published.path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve())
        ),
        file_sha256=published.file_sha256,
        payload_hex=published.payload_hex,
        manifest_id=published.manifest_id,
        fingerprints=list(published.fingerprints),
        frames=published.frames,
        duration_s=published.duration_s,
        identity_id=job.identity_id,
        requester_id=job.requester_id,
        grant_id=job.grant_id,
        consent_version=job.grant.version,
        decision_id=job.decision_id,
        published_at=published_at,
    )
    record.full_clean(exclude=["job"])
    record.save(force_insert=True)
    return record
