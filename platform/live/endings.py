"""Writes for a running live session and its end: the node's heartbeat, then one of
published (`live_session_publish`), terminated by revocation (`live_session_terminate`) or
failed (`live_session_fail`). How a session starts (policy, ticket, admission) is in
`live.services`.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.selectors import receipt_for_grant
from core.errors import ApplicationError
from core.keys import c2pa_signing_identity, secret_bytes
from jobs.finish import output_record_save
from jobs.models import GenerationJob, JobStage, JobStatus, OutputRecord
from provenance.manifest import Ingredient, ManifestInfo

from .models import LiveSession, LiveStatus
from .selectors import live_consent_gone, live_session_key

TERMINATED_BY_REVOCATION = "terminated by revocation"


def live_session_check(*, session_id: str, frames_sent: int) -> str:
    """The node's heartbeat (several times a second): '' while the session may go on, else why
    it must stop now. Also keeps the job's lease fresh so the reaper leaves it alone."""
    session = LiveSession.objects.select_related("job").get(public_id=live_session_key(session_id))
    job = session.job
    if job.status != JobStatus.RUNNING:  # revocation cancelled it in its own transaction
        return TERMINATED_BY_REVOCATION
    if live_consent_gone(job=job):
        return TERMINATED_BY_REVOCATION
    GenerationJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        progress_at=timezone.now(), frames_done=frames_sent
    )
    return ""


def _end(session: LiveSession, *, status: str, reason: str, frames: int, timings: dict) -> None:
    session.status = status
    session.end_reason = reason[:255]
    session.frames_sent = frames
    session.timings = {**session.timings, **timings}
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "end_reason", "frames_sent", "timings", "ended_at"])


@transaction.atomic
def live_session_terminate(
    *, session_id: str, reason: str, frames: int, timings: dict
) -> LiveSession:
    """Consent went while the session ran: nothing is published; audited as terminated."""
    session = LiveSession.objects.select_for_update().get(public_id=live_session_key(session_id))
    if session.is_final:
        return session
    _end(session, status=LiveStatus.TERMINATED, reason=reason, frames=frames, timings=timings)
    job = GenerationJob.objects.select_for_update().get(pk=session.job_id)
    if job.status == JobStatus.RUNNING:
        job.status, job.stage = JobStatus.CANCELLED, JobStage.CANCELLED
        job.failure_code, job.failure_reason = "consent_revoked", reason
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "stage", "failure_code", "failure_reason", "finished_at"])
    audit_record(
        action=AuditAction.LIVE_TERMINATED,
        outcome="denied",
        subject_type="live_session",
        subject_id=session.public_id,
        reason=reason,
        details=_end_details(session, job, reason),
    )
    return session


def live_session_fail(
    *, session_id: str, code: str, reason: str, frames: int = 0, timings: dict | None = None
) -> None:
    """The session could not start or could not be published: nothing is left behind."""
    with transaction.atomic():
        session = (
            LiveSession.objects.select_for_update()
            .filter(public_id=live_session_key(session_id))
            .first()
        )
        if session is None or session.is_final:
            return
        _end(session, status=LiveStatus.FAILED, reason=reason, frames=frames, timings=timings or {})
        job = GenerationJob.objects.select_for_update().get(pk=session.job_id)
        if not job.is_final:
            job.status, job.stage = JobStatus.FAILED, JobStage.FAILED
            job.failure_code, job.failure_reason = code, reason
            job.finished_at = timezone.now()
            job.save(
                update_fields=["status", "stage", "failure_code", "failure_reason", "finished_at"]
            )
        audit_record(
            action=AuditAction.LIVE_FAILED,
            outcome="error",
            subject_type="live_session",
            subject_id=session.public_id,
            reason=reason,
            details={**_end_details(session, job, reason), "code": code},
        )


def _end_details(session: LiveSession, job: GenerationJob, reason: str) -> dict:
    started = session.started_at or session.created_at
    return {
        "session_id": str(session.public_id),
        "job_id": job.pk,
        "identity_id": job.identity_id,
        "requester_id": session.requester_id,
        "duration_s": round((session.ended_at - started).total_seconds(), 2),
        "frames": session.frames_sent,
        "reason": reason,
    }


def live_output_dir(record_id: int) -> Path:
    path = Path(settings.MEDIA_ROOT) / "outputs" / "live" / str(record_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def live_publish_context(*, session_id: str):
    """(manifest info, signer, watermark key, consent re-check) for publishing a recording."""
    session = LiveSession.objects.select_related("job", "job__grant").get(
        public_id=live_session_key(session_id)
    )
    job = session.job
    receipt = receipt_for_grant(grant=job.grant)
    info = ManifestInfo(
        title=f"Live talking-face session {job.pk}",
        record_id=job.pk,
        consent_receipt_id=str(getattr(receipt, "receipt_id", "") or ""),
        decision_id=job.decision_id,
        generator_version=settings.JOBS_GENERATOR_VERSION,
        ingredients=(Ingredient("portrait", job.portrait_sha256, "image/png"),),
    )

    def before_sign() -> None:
        if live_session_check(session_id=session_id, frames_sent=session.frames_sent):
            raise ApplicationError(TERMINATED_BY_REVOCATION, code="consent_revoked")

    return info, c2pa_signing_identity(), secret_bytes("watermark"), before_sign


@transaction.atomic
def live_session_publish(*, session_id: str, published, timings: dict) -> OutputRecord:
    """Record the signed recording as the session's output (the registry entry detection reads)
    and end the session; the caller removes the file if this raises."""
    session = LiveSession.objects.select_for_update().get(public_id=live_session_key(session_id))
    job = GenerationJob.objects.select_for_update().get(pk=session.job_id)
    if job.status != JobStatus.RUNNING or session.is_final:
        raise ApplicationError(TERMINATED_BY_REVOCATION, code="consent_revoked")
    now = timezone.now()
    record = output_record_save(job=job, published=published, published_at=now)
    job.status, job.stage, job.progress = JobStatus.DONE, JobStage.DONE, 1.0
    job.frames_total = job.frames_done = published.frames
    job.audio_seconds = published.duration_s
    job.finished_at = now
    job.timings = timings
    job.save()
    _end(
        session, status=LiveStatus.ENDED, reason="stopped", frames=published.frames, timings=timings
    )
    audit_record(
        action=AuditAction.LIVE_ENDED,
        subject_type="live_session",
        subject_id=session.public_id,
        details={
            **_end_details(session, job, "stopped"),
            "record_id": job.pk,
            "file_sha256": published.file_sha256,
            "manifest_id": published.manifest_id,
        },
    )
    return record
