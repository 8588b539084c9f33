"""Consent was withdrawn: the grant's queued and running jobs stop and its published outputs are
marked revoked, in the revocation's own transaction (consent sends `grant_revoked`)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.signals import grant_revoked

from .finish import job_finish
from .models import ACTIVE_STATUSES, GenerationJob, JobStatus, OutputRecord


@receiver(grant_revoked)
def _grant_revoked(sender, *, grant, actor, **kwargs) -> tuple[int, int]:
    return job_revocation_apply(grant=grant, actor=actor)


@transaction.atomic
def job_revocation_apply(*, grant, actor) -> tuple[int, int]:
    """Consent was withdrawn: cancel the grant's queued and running jobs and mark its published
    outputs revoked. Runs inside consent_revoke's transaction. Returns (jobs cancelled, outputs
    marked).

    A running worker notices at its next progress save (the row is no longer running for it) and
    again before signing and before writing its record, so no output appears after this commits.
    """
    now = timezone.now()
    cancelled = 0
    # Revocation ends the grant's whole series (every version of this consent).
    jobs = GenerationJob.objects.select_for_update().filter(
        grant__series=grant.series, status__in=ACTIVE_STATUSES
    )
    for job in jobs:
        job_finish(
            job,
            status=JobStatus.CANCELLED,
            code="consent_revoked",
            reason="The person withdrew their consent.",
            now=now,
        )
        audit_record(
            action=AuditAction.JOB_CANCELLED,
            actor=actor,
            subject_type="job",
            subject_id=job.pk,
            reason="consent revoked",
            details={"job_id": job.pk, "grant_id": grant.pk, "identity_id": job.identity_id},
        )
        cancelled += 1
    marked = OutputRecord.objects.filter(
        grant__series=grant.series, revoked_at__isnull=True
    ).update(revoked_at=now)
    return cancelled, marked
