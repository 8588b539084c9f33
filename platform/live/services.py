"""Writes that start a live session: the policy gate and signed live ticket, node
registration, and the node's admission check.

The web side calls `live_session_create` (policy + signed live ticket) and forwards signalling
to a node (`signalling.py`); the node (`node.py`) calls `live_session_admit`. While the session
runs and when it ends, the node calls `live.endings`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.selectors import grant_active_for, grant_policy_facts, identity_reference_portrait
from core.errors import ApplicationError
from core.keys import public_key, signing_key
from generator.config import Controls
from jobs.controls import controls_as_dict, controls_from
from jobs.models import GenerationJob, JobStage, JobStatus
from jobs.policy_gate import (
    PolicyDenied,
    decision_context,
    decision_details,
    policy_decision_audit,
    policy_limits,
)
from policy.decisions import decide
from policy.errors import TicketError
from policy.tickets import issue_live_ticket, live_ticket_claims, verify_live_ticket

from .endings import live_session_fail
from .models import LiveNode, LiveSession, LiveStatus
from .selectors import live_consent_gone, live_session_key

LIVE_PURPOSE_DEFAULT = "personal"


def _max_seconds() -> int:
    return int(getattr(settings, "LIVE_MAX_SESSION_SECONDS", 300))


def _reference_portrait(identity):
    portrait = identity_reference_portrait(identity=identity)
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
        policy_decision_audit(
            requester=requester,
            identity=identity,
            details={"identity_id": identity.pk, "purpose": purpose, "mode": "live"},
            denial=LIVE_NOT_ALLOWED,
        )
        raise ApplicationError(LIVE_NOT_ALLOWED, code="live_not_allowed", status_code=403)
    # Unless asked for less, a session may run as long as both the grant and the node allow.
    default = min(_max_seconds(), grant.max_live_seconds) if grant else _max_seconds()
    seconds = int(max_duration_s or default)
    if not 1 <= seconds <= _max_seconds():
        raise ApplicationError(
            f"max_duration_s must be between 1 and {_max_seconds()}.", code="invalid_duration"
        )
    context = decision_context(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        # The longest the session may run stands for the clip length the grant limits, and the
        # grant's live limit for its clip limit: the policy checks one length.
        audio_seconds=float(seconds),
        emotion=controls.emotion,
        portrait_descriptors=(tuple(float(x) for x in portrait.descriptor),),
        now=now,
        grant_facts=replace(
            grant_policy_facts(grant=grant), max_clip_seconds=float(grant.max_live_seconds)
        )
        if grant is not None
        else None,
        # A session has no speech to measure up front: any length up to the node's limit.
        limits=replace(
            policy_limits(), min_audio_seconds=0.0, max_audio_seconds=float(_max_seconds())
        ),
    )
    decision = decide(context)
    details = decision_details(
        decision, identity=identity, requester=requester, purpose=purpose, mode="live"
    )
    if not decision.allowed:
        policy_decision_audit(
            requester=requester,
            identity=identity,
            details=details,
            denial=decision.denial_message,
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
    policy_decision_audit(requester=requester, identity=identity, details=details)
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
        .filter(public_id=live_session_key(session_id))
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
    reason = live_consent_gone(job=session.job, grant_version=claims.grant_version)
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
