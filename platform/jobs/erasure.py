"""Deleting a person's generated media along with their biometric data.

consent's identity_biometrics_delete sends `identity_biometrics_deleted` inside its transaction;
`job_media_erase_for_identity` answers it there. The videos show the face, and so do the job
inputs (copies of the portrait), so both go. The registry entries stay, marked revoked and
deleted, with their payload, manifest id, fingerprints and hashes: detection keeps naming a copy
found elsewhere as the platform's, withdrawn.
"""

from __future__ import annotations

import shutil

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.signals import identity_biometrics_deleted

from . import inputs
from .finish import job_finish
from .models import ACTIVE_STATUSES, GenerationJob, JobStatus, OutputRecord


@transaction.atomic
def job_media_erase_for_identity(*, identity, actor) -> dict:
    """Cancel the identity's remaining jobs, delete every job input and published video of it
    (files go after commit), mark the registry entries revoked and deleted. Returns counts."""
    now = timezone.now()
    cancelled = 0
    inputs_removed = 0
    for job in GenerationJob.objects.select_for_update().filter(identity=identity):
        if job.status in ACTIVE_STATUSES:
            job_finish(
                job,
                status=JobStatus.CANCELLED,
                code="biometrics_deleted",
                reason="The person deleted their biometric data.",
                now=now,
            )
            cancelled += 1
            continue
        if job.audio_file or job.portrait_file:  # ended before inputs were deleted at the end
            inputs.inputs_remove_on_commit([job.audio_file, job.portrait_file])
            job.audio_file = job.portrait_file = ""
            job.save(update_fields=["audio_file", "portrait_file"])
            inputs_removed += 1
    records = list(
        OutputRecord.objects.select_for_update().filter(
            identity=identity, media_deleted_at__isnull=True
        )
    )
    for record in records:
        record.revoked_at = record.revoked_at or now
        record.media_deleted_at = now
        record.save(update_fields=["revoked_at", "media_deleted_at"])
    job_ids = [record.job_id for record in records]
    transaction.on_commit(lambda: _remove_output_folders(job_ids))
    counts = {
        "jobs_cancelled": cancelled,
        "jobs_inputs_removed": inputs_removed,
        "outputs_deleted": len(records),
    }
    audit_record(
        action=AuditAction.JOB_MEDIA_ERASED,
        actor=actor,
        subject_type="identity",
        subject_id=identity.pk,
        reason="biometric data deleted",
        details={
            "identity_id": identity.pk,
            **counts,
            "record_ids": job_ids,
            "file_sha256": [record.file_sha256 for record in records],
        },
    )
    return counts


def _remove_output_folders(job_ids: list[int]) -> None:
    # A job's folder holds its published file and nothing else once the job ended.
    for job_id in job_ids:
        shutil.rmtree(inputs.job_output_dir(job_id), ignore_errors=True)


@receiver(identity_biometrics_deleted, dispatch_uid="jobs.erase_media_of_deleted_biometrics")
def _erase_media_of_deleted_biometrics(sender, *, identity, actor, **kwargs) -> None:
    job_media_erase_for_identity(identity=identity, actor=actor)
