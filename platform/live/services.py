"""Writes for live sessions: the policy gate and ticket, node registration, the node's checks,
and the end of a session (published, terminated by revocation, or failed).

The web side calls `live_session_create` (policy + signed live ticket) and forwards signalling
to a node (`signalling.py`); the node (`node.py`) calls `live_session_admit`, then
`live_session_check` several times a second, then one of `live_session_publish`,
`live_session_terminate` or `live_session_fail`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.selectors import requester_is_approved
from audit.actions import AuditAction
from audit.services import audit_record
from consent.models import ConsentGrant
from consent.selectors import (
    grant_active_for,
    grant_policy_facts,
    identity_policy_facts,
    receipt_for_grant,
)
from core.errors import ApplicationError
from core.keys import c2pa_signing_identity, public_key, secret_bytes, signing_key
from generator.config import Controls
from jobs.controls import controls_as_dict, controls_from
from jobs.finish import output_record_save
from jobs.models import GenerationJob, JobStage, JobStatus, OutputRecord
from jobs.services import PolicyDenied
from policy.decisions import DecisionContext, PolicyLimits, RequesterFacts, decide
from policy.errors import TicketError
from policy.tickets import issue_live_ticket, live_ticket_claims, verify_live_ticket
from provenance.manifest import Ingredient, ManifestInfo

from .models import LiveNode, LiveSession, LiveStatus

LIVE_PURPOSE_DEFAULT = "personal"
TERMINATED_BY_REVOCATION = "terminated by revocation"


def _max_seconds() -> int:
    return int(getattr(settings, "LIVE_MAX_SESSION_SECONDS", 300))


def _reference_portrait(identity):
    portrait = identity.portraits.filter(deleted_at__isnull=True).order_by("-created_at").first()
    if portrait is None or not portrait.file or not portrait.descriptor:
        raise ApplicationError(
            "This identity has no enrolled reference portrait; live mode animates that one.",
            code="no_reference_portrait",
        )
    return portrait


LIVE_NOT_ALLOWED = "The person's consent does not allow live sessions."


def live_session_create(
    *, requester, identity, purpose: str, controls, max_duration_s: int | None = None
) -> LiveSession:
    """Ask for a live session: the policy decides as for a job; on allow, a job row, a session
    and a signed live ticket. Raises PolicyDenied or ApplicationError."""
    controls: Controls = controls_from(controls)
    portrait = _reference_portrait(identity)
    now = timezone.now()
    grant = grant_active_for(identity=identity, requester=requester, purpose=purpose)
    if grant is not None and not grant.allow_live:
        # Live use is its own yes from the owner (off by default), refused before the policy.
        audit_record(
            action=AuditAction.POLICY_DECIDED,
            outcome="denied",
            actor=requester,
            subject_type="identity",
            subject_id=identity.pk,
            reason=LIVE_NOT_ALLOWED,
            details={"identity_id": identity.pk, "purpose": purpose, "mode": "live"},
        )
        raise ApplicationError(LIVE_NOT_ALLOWED, code="live_not_allowed", status_code=403)
    # Unless asked for less, a session may run as long as both the grant and the node allow.
    default = min(_max_seconds(), grant.max_live_seconds) if grant else _max_seconds()
    seconds = int(max_duration_s or default)
    if not 1 <= seconds <= _max_seconds():
        raise ApplicationError(
            f"max_duration_s must be between 1 and {_max_seconds()}.", code="invalid_duration"
        )
    since = now - timedelta(hours=24)
    context = DecisionContext(
        now=now,
        requester=RequesterFacts(
            requester_id=requester.pk,
            approved=requester_is_approved(user=requester),
            active=requester.is_active,
            organisation_id=requester.organisation_id,
        ),
        identity=identity_policy_facts(identity=identity),
        # The grant's live limit stands for its clip limit: the policy checks one length.
        grant=replace(
            grant_policy_facts(grant=grant), max_clip_seconds=float(grant.max_live_seconds)
        )
        if grant is not None
        else None,
        purpose=purpose,
        # The longest the session may run stands for the clip length the grant limits.
        audio_seconds=float(seconds),
        emotion=controls.emotion,
        wants_download=False,
        portrait_descriptors=(tuple(float(x) for x in portrait.descriptor),),
        requester_jobs_last_24h=GenerationJob.objects.filter(
            requester=requester, created_at__gte=since
        ).count(),
        identity_jobs_last_24h=GenerationJob.objects.filter(
            identity=identity, created_at__gte=since
        ).count(),
        limits=PolicyLimits(min_audio_seconds=0.0, max_audio_seconds=float(_max_seconds())),
    )
    decision = decide(context)
    details = {
        "decision_id": decision.decision_id,
        "reasons": decision.reason_codes,
        "policy_version": decision.policy_version,
        "identity_id": identity.pk,
        "requester_id": requester.pk,
        "purpose": purpose,
        "mode": "live",
    }
    if not decision.allowed:
        audit_record(
            action=AuditAction.POLICY_DECIDED,
            outcome="denied",
            actor=requester,
            subject_type="identity",
            subject_id=identity.pk,
            reason=decision.denial_message,
            details=details,
        )
        raise PolicyDenied(decision)
    return _session_create(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        controls=controls,
        portrait=portrait,
        seconds=seconds,
        decision=decision,
        details=details,
        now=now,
    )


@transaction.atomic
def _session_create(
    *, requester, identity, grant, purpose, controls, portrait, seconds, decision, details, now
) -> LiveSession:
    # The job is running from the start: revocation cancels running jobs, and the node's
    # heartbeat (progress_at) keeps the reaper away while the session lives.
    job = GenerationJob.objects.create(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        status=JobStatus.RUNNING,
        stage=JobStage.RENDERING,
        controls=controls_as_dict(controls),
        portrait_sha256=portrait.sha256,
        portrait_is_reference=True,
        decision_id=decision.decision_id,
        policy_version=decision.policy_version,
        run_token=f"live{uuid.uuid4().hex[:20]}",
        started_at=now,
        progress_at=now,
    )
    session = LiveSession(job=job, requester=requester, max_duration_s=seconds)
    key = signing_key("ticket")
    claims = live_ticket_claims(
        session_id=str(session.public_id),
        identity_id=identity.pk,
        grant_id=grant.pk,
        grant_version=grant.version,
        requester_id=requester.pk,
        portrait_sha256=portrait.sha256,
        decision_id=decision.decision_id,
        policy_version=decision.policy_version,
        max_duration_s=seconds,
        controls=job.controls,
        now=now,
    )
    session.ticket = issue_live_ticket(claims, key.private_key, key.key_id)
    session.save()
    audit_record(
        action=AuditAction.POLICY_DECIDED,
        outcome="allowed",
        actor=requester,
        subject_type="identity",
        subject_id=identity.pk,
        details=details,
    )
    return session


def live_node_register(*, name: str, url: str, capacity: int, active_sessions: int) -> LiveNode:
    """A node says it is alive, where it listens and how many sessions it holds (every second)."""
    node, _ = LiveNode.objects.update_or_create(
        name=name,
        defaults={
            "url": url,
            "capacity": capacity,
            "active_sessions": active_sessions,
            "last_seen": timezone.now(),
        },
    )
    return node


def live_node_unregister(*, name: str) -> None:
    LiveNode.objects.filter(name=name).delete()


@dataclass(frozen=True)
class LiveAdmission:
    """What a node needs to run a session whose ticket it has checked."""

    session_id: str
    record_id: int  # the job id: the watermark payload and the OutputRecord key
    portrait_path: str
    controls: dict
    max_duration_s: int


def live_session_admit(*, session_id: str, ticket: str, node_name: str) -> LiveAdmission:
    """The node's gate: a valid live ticket for this session, consent unchanged since the
    decision. Raises ApplicationError (403) otherwise, and fails the session."""
    session = (
        LiveSession.objects.select_related("job", "job__grant", "job__identity")
        .filter(public_id=_uuid(session_id))
        .first()
    )
    if session is None:
        raise ApplicationError(
            "No such live session.", code="live_session_unknown", status_code=404
        )
    try:
        claims = verify_live_ticket(
            ticket,
            lambda key_id: public_key("ticket", key_id),
            session_id=str(session.public_id),
            now=timezone.now(),
        )
    except TicketError as error:
        live_session_fail(session_id=session_id, code=error.code, reason=error.message)
        raise ApplicationError(error.message, code=error.code, status_code=403) from error
    if ticket != session.ticket or session.status != LiveStatus.STARTING:
        raise ApplicationError(
            "This ticket was already used or replaced.", code="ticket_replayed", status_code=403
        )
    reason = _consent_gone(session.job, claims.grant_version)
    if reason:
        live_session_fail(session_id=session_id, code="consent_changed", reason=reason)
        raise ApplicationError(reason, code="consent_changed", status_code=403)
    portrait = _reference_portrait(session.job.identity)
    if portrait.sha256 != claims.portrait_sha256:
        raise ApplicationError(
            "The portrait changed since the decision.",
            code="ticket_portrait_mismatch",
            status_code=403,
        )
    with transaction.atomic():
        LiveSession.objects.filter(pk=session.pk).update(
            status=LiveStatus.RUNNING,
            started_at=timezone.now(),
            node=LiveNode.objects.filter(name=node_name).first(),
        )
        audit_record(
            action=AuditAction.LIVE_STARTED,
            actor=session.requester,
            subject_type="live_session",
            subject_id=session.public_id,
            details={
                "session_id": str(session.public_id),
                "job_id": session.job_id,
                "identity_id": session.job.identity_id,
                "requester_id": session.requester_id,
                "grant_id": session.job.grant_id,
                "node": node_name,
                "max_duration_s": claims.max_duration_s,
            },
        )
    return LiveAdmission(
        session_id=str(session.public_id),
        record_id=session.job_id,
        portrait_path=str(Path(settings.MEDIA_ROOT) / portrait.file.name),
        controls=dict(claims.controls),
        max_duration_s=claims.max_duration_s,
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _consent_gone(job: GenerationJob, grant_version: int) -> str:
    """Why the consent behind `job` no longer holds ('' while it does)."""
    grant = ConsentGrant.objects.get(pk=job.grant_id)
    if grant.revoked_at is not None or not grant.is_active():
        return "The person withdrew their consent."
    if grant.version != grant_version:
        return "The consent changed since the session was allowed."
    return ""


def live_session_check(*, session_id: str, frames_sent: int) -> str:
    """The node's heartbeat (several times a second): '' while the session may go on, else why
    it must stop now. Also keeps the job's lease fresh so the reaper leaves it alone."""
    session = LiveSession.objects.select_related("job").get(public_id=_uuid(session_id))
    job = session.job
    if job.status != JobStatus.RUNNING:  # revocation cancelled it in its own transaction
        return TERMINATED_BY_REVOCATION
    claims_version = job.grant.version
    if _consent_gone(job, claims_version):
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
    session = LiveSession.objects.select_for_update().get(public_id=_uuid(session_id))
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
            LiveSession.objects.select_for_update().filter(public_id=_uuid(session_id)).first()
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
        public_id=_uuid(session_id)
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
    session = LiveSession.objects.select_for_update().get(public_id=_uuid(session_id))
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
