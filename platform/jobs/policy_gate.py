"""Where a generation request meets the policy: one context builder and one denial path,
shared by offline jobs (`jobs.services`) and live sessions (`live.services`), so both are
judged on the same facts and a denial is audit-logged the same way."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from accounts.selectors import requester_is_approved
from audit.actions import AuditAction
from audit.services import audit_record
from consent.selectors import grant_policy_facts, identity_policy_facts
from core.errors import ApplicationError
from generator.config import RenderConfig
from policy.decisions import (
    Decision,
    DecisionContext,
    GrantFacts,
    PolicyLimits,
    RequesterFacts,
)
from provenance.publish import min_publish_frames

from .models import GenerationJob


class PolicyDenied(ApplicationError):
    """The policy said no; `reasons` are policy.decisions.Reason values, in rule order."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.denial_message, code="policy_denied", status_code=403)
        self.decision = decision
        self.reasons = decision.reasons


def policy_limits() -> PolicyLimits:
    """The deployment's limits (settings over the policy's defaults)."""
    defaults = PolicyLimits()
    return PolicyLimits(
        # Shorter speech renders too few frames to carry the whole watermark: refused up front,
        # not after a worker has rendered it.
        min_audio_seconds=min_publish_frames() / RenderConfig().fps,
        max_audio_seconds=float(
            getattr(settings, "POLICY_MAX_AUDIO_SECONDS", defaults.max_audio_seconds)
        ),
        face_match_threshold=float(
            getattr(settings, "POLICY_FACE_MATCH_THRESHOLD", defaults.face_match_threshold)
        ),
        requester_daily_quota=int(
            getattr(settings, "POLICY_REQUESTER_DAILY_QUOTA", defaults.requester_daily_quota)
        ),
        identity_daily_quota=int(
            getattr(settings, "POLICY_IDENTITY_DAILY_QUOTA", defaults.identity_daily_quota)
        ),
    )


def decision_context(
    *,
    requester,
    identity,
    grant,
    purpose: str,
    audio_seconds: float,
    emotion: str,
    portrait_descriptors: tuple[tuple[float, ...], ...],
    now,
    limits: PolicyLimits | None = None,
    grant_facts: GrantFacts | None = None,
) -> DecisionContext:
    """Every fact the policy needs about one request. `grant_facts` overrides the grant's own
    facts (live mode puts the grant's live limit where the clip limit is)."""
    since = now - timedelta(hours=24)
    if grant_facts is None and grant is not None:
        grant_facts = grant_policy_facts(grant=grant)
    return DecisionContext(
        now=now,
        requester=RequesterFacts(
            requester_id=requester.pk,
            approved=requester_is_approved(user=requester),
            active=requester.is_active,
            organisation_id=requester.organisation_id,
        ),
        identity=identity_policy_facts(identity=identity),
        grant=grant_facts,
        purpose=purpose,
        audio_seconds=audio_seconds,
        emotion=emotion,
        # Download is decided when someone asks for the file, against the grant as it is then.
        wants_download=False,
        portrait_descriptors=portrait_descriptors,
        requester_jobs_last_24h=GenerationJob.objects.filter(
            requester=requester, created_at__gte=since
        ).count(),
        identity_jobs_last_24h=GenerationJob.objects.filter(
            identity=identity, created_at__gte=since
        ).count(),
        limits=limits or policy_limits(),
    )


def decision_details(decision: Decision, *, identity, requester, purpose: str, **extra) -> dict:
    """The audit details of a decision, allowed or denied."""
    return {
        "decision_id": decision.decision_id,
        "reasons": decision.reason_codes,
        "policy_version": decision.policy_version,
        "identity_id": identity.pk,
        "requester_id": requester.pk,
        "purpose": purpose,
        "portrait_distance": decision.portrait_distance,
        **extra,
    }


def policy_decision_audit(*, requester, identity, details: dict, denial: str = "") -> None:
    """Audit a policy decision: refused when `denial` says why (before the refusal is raised,
    in autocommit, so the row stays although the request fails), else allowed (inside the
    transaction that acts on it)."""
    audit_record(
        action=AuditAction.POLICY_DECIDED,
        outcome="denied" if denial else "allowed",
        actor=requester,
        subject_type="identity",
        subject_id=identity.pk,
        reason=denial,
        details=details,
    )
