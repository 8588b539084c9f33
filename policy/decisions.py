"""The deny-by-default generation policy.

`decide(context)` runs every rule over plain facts gathered by the platform and allows a job only
when no rule objects. Each rule is a small named function returning the reasons it denies (empty
when it has nothing against the job); a rule that cannot tell (a fact is missing) denies, and a
rule that crashes denies too, so an unforeseen case never turns into an allow.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from policy.purposes import PURPOSES

POLICY_VERSION = "2026-12.1"


@dataclass(frozen=True)
class Reason:
    """Why a rule denied: a stable `code` for reports and a sentence for the person asking."""

    code: str
    message: str


@dataclass(frozen=True)
class PolicyLimits:
    """Platform-wide limits; the platform's settings may override the defaults."""

    max_audio_seconds: float = 60.0  # longest speech clip any job may use
    # Shortest speech clip a job can publish: the output's watermark needs every payload word in
    # at least one settled frame (34 frames at 25 fps; the platform derives it from provenance).
    min_audio_seconds: float = 1.4
    face_match_threshold: float = 0.5  # dlib descriptor distance; dlib's own "same" is < 0.6
    requester_daily_quota: int = 50  # jobs per requester per rolling 24 h
    identity_daily_quota: int = 100  # jobs per identity per rolling 24 h


@dataclass(frozen=True)
class RequesterFacts:
    requester_id: int
    approved: bool  # latest access application approved
    active: bool  # account not disabled
    organisation_id: int | None


@dataclass(frozen=True)
class IdentityFacts:
    identity_id: int
    verified: bool
    reference_descriptor: tuple[float, ...] | None  # (128,) or None once biometrics are deleted


@dataclass(frozen=True)
class GrantFacts:
    """One consent grant version, as the owner gave it."""

    grant_id: int
    identity_id: int
    version: int
    requester_ids: frozenset[int]
    organisation_ids: frozenset[int]
    purposes: frozenset[str]
    max_clip_seconds: float
    allowed_emotions: frozenset[str]
    allow_download: bool
    expires_at: datetime
    revoked_at: datetime | None = None
    superseded_at: datetime | None = None


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision looks at, gathered by the caller; no database behind it."""

    now: datetime
    requester: RequesterFacts
    identity: IdentityFacts | None
    grant: GrantFacts | None  # the active grant the caller found for (identity, requester, purpose)
    purpose: str
    audio_seconds: float
    emotion: str
    wants_download: bool
    # Descriptors of every face found in the job's portrait: exactly one must match the identity.
    portrait_descriptors: tuple[tuple[float, ...], ...]
    requester_jobs_last_24h: int
    identity_jobs_last_24h: int
    limits: PolicyLimits = field(default_factory=PolicyLimits)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]
    policy_version: str
    decision_id: str
    portrait_distance: float | None = None  # the face-match score, kept for the audit log

    @property
    def reason_codes(self) -> list[str]:
        return [reason.code for reason in self.reasons]

    @property
    def denial_message(self) -> str:
        return "; ".join(reason.message for reason in self.reasons)


Rule = Callable[[DecisionContext], list[Reason]]


def rule_requester_approved(context: DecisionContext) -> list[Reason]:
    reasons = []
    if not context.requester.approved:
        reasons.append(
            Reason("requester_not_approved", "Your requester access has not been approved.")
        )
    if not context.requester.active:
        reasons.append(Reason("requester_inactive", "Your account is disabled."))
    return reasons


def rule_identity_verified(context: DecisionContext) -> list[Reason]:
    if context.identity is None:
        return [Reason("identity_unknown", "No such identity.")]
    if not context.identity.verified:
        return [Reason("identity_not_verified", "This person's identity has not been verified.")]
    return []


def rule_grant_active(context: DecisionContext) -> list[Reason]:
    grant = context.grant
    if grant is None:
        return [Reason("no_consent", "This person has not consented to this use.")]
    if context.identity is None or grant.identity_id != context.identity.identity_id:
        return [Reason("grant_wrong_identity", "The consent grant is for another person.")]
    if grant.revoked_at is not None and grant.revoked_at <= context.now:
        return [Reason("consent_revoked", "This person has withdrawn their consent.")]
    if grant.superseded_at is not None and grant.superseded_at <= context.now:
        return [Reason("grant_superseded", "This consent has been replaced by a newer version.")]
    if grant.expires_at <= context.now:
        return [Reason("consent_expired", "This person's consent has expired.")]
    return []


def rule_grant_names_requester(context: DecisionContext) -> list[Reason]:
    grant, requester = context.grant, context.requester
    if grant is None:
        return []  # rule_grant_active already denies
    named = requester.requester_id in grant.requester_ids or (
        requester.organisation_id is not None
        and requester.organisation_id in grant.organisation_ids
    )
    if not named:
        return [
            Reason(
                "requester_not_named",
                "The consent does not name you or your organisation.",
            )
        ]
    return []


def rule_purpose_granted(context: DecisionContext) -> list[Reason]:
    if context.purpose not in PURPOSES:
        return [Reason("unknown_purpose", f"Unknown purpose {context.purpose!r}.")]
    if context.grant is not None and context.purpose not in context.grant.purposes:
        return [Reason("purpose_not_granted", "The consent does not cover this purpose.")]
    return []


def rule_clip_within_grant(context: DecisionContext) -> list[Reason]:
    grant = context.grant
    if grant is None:
        return []
    if not _finite_non_negative(context.audio_seconds):
        return [Reason("audio_length_unknown", "The speech clip's length could not be read.")]
    if context.audio_seconds > grant.max_clip_seconds:
        return [
            Reason(
                "clip_too_long_for_grant",
                f"The clip is {context.audio_seconds:.1f} s; the consent allows at most "
                f"{grant.max_clip_seconds:.0f} s.",
            )
        ]
    return []


def rule_controls_within_grant(context: DecisionContext) -> list[Reason]:
    grant = context.grant
    if grant is None:
        return []
    reasons = []
    if context.emotion not in grant.allowed_emotions:
        reasons.append(
            Reason(
                "emotion_not_allowed",
                f"The consent does not allow the emotion {context.emotion!r}.",
            )
        )
    if context.wants_download and not grant.allow_download:
        reasons.append(
            Reason("download_not_allowed", "The consent does not allow downloading outputs.")
        )
    return reasons


def rule_portrait_matches_identity(context: DecisionContext) -> list[Reason]:
    """The portrait handed in for the job must show the verified person, not someone else
    under their consented name."""
    identity = context.identity
    if identity is None:
        return []
    if identity.reference_descriptor is None:
        return [
            Reason(
                "no_reference_face",
                "This identity has no enrolled reference face (biometric data deleted?).",
            )
        ]
    faces = context.portrait_descriptors
    if len(faces) != 1:
        return [
            Reason(
                "portrait_face_count",
                f"The portrait must show exactly one face; found {len(faces)}.",
            )
        ]
    distance = _distance(faces[0], identity.reference_descriptor)
    if distance is None or distance > context.limits.face_match_threshold:
        return [
            Reason(
                "portrait_mismatch",
                "The portrait does not show the person who consented.",
            )
        ]
    return []


def rule_audio_length(context: DecisionContext) -> list[Reason]:
    if not _finite_non_negative(context.audio_seconds) or context.audio_seconds == 0:
        return [Reason("audio_length_unknown", "The speech clip's length could not be read.")]
    if context.audio_seconds < context.limits.min_audio_seconds:
        return [
            Reason(
                "audio_too_short",
                f"The speech clip is {context.audio_seconds:.2f} s; clips must be at least "
                f"{context.limits.min_audio_seconds:.2f} s long.",
            )
        ]
    if context.audio_seconds > context.limits.max_audio_seconds:
        return [
            Reason(
                "audio_too_long",
                f"Speech clips may be at most {context.limits.max_audio_seconds:.0f} s.",
            )
        ]
    return []


def rule_quotas(context: DecisionContext) -> list[Reason]:
    reasons = []
    if context.requester_jobs_last_24h >= context.limits.requester_daily_quota:
        reasons.append(
            Reason("requester_quota_exceeded", "You have reached your daily generation quota.")
        )
    if context.identity_jobs_last_24h >= context.limits.identity_daily_quota:
        reasons.append(
            Reason(
                "identity_quota_exceeded",
                "This person's likeness has reached its daily generation quota.",
            )
        )
    return reasons


RULES: tuple[Rule, ...] = (
    rule_requester_approved,
    rule_identity_verified,
    rule_grant_active,
    rule_grant_names_requester,
    rule_purpose_granted,
    rule_clip_within_grant,
    rule_controls_within_grant,
    rule_portrait_matches_identity,
    rule_audio_length,
    rule_quotas,
)


def decide(context: DecisionContext, rules: Sequence[Rule] = RULES) -> Decision:
    """Run every rule; allow only when at least one rule ran and none objected.

    All rules run (no short-circuit) so the requester and the audit log see every reason at once.
    """
    reasons: list[Reason] = []
    for rule in rules:
        try:
            found = rule(context)
        except Exception as exc:  # noqa: BLE001 - a broken rule must deny, never allow
            found = [Reason("rule_failed", f"Policy rule {rule.__name__} failed: {exc}")]
        for reason in found:
            if reason not in reasons:
                reasons.append(reason)
    if not rules:
        reasons.append(Reason("no_rules", "No policy rules ran."))
    return Decision(
        allowed=not reasons,
        reasons=tuple(reasons),
        policy_version=POLICY_VERSION,
        decision_id=uuid.uuid4().hex,
        portrait_distance=_portrait_distance(context),
    )


def _portrait_distance(context: DecisionContext) -> float | None:
    if (
        context.identity is None
        or context.identity.reference_descriptor is None
        or len(context.portrait_descriptors) != 1
    ):
        return None
    return _distance(context.portrait_descriptors[0], context.identity.reference_descriptor)


def _distance(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Euclidean distance, or None when the vectors are not two equal-length finite vectors."""
    if len(a) != len(b) or len(a) == 0:
        return None
    total = math.fsum((float(x) - float(y)) ** 2 for x, y in zip(a, b, strict=True))
    return math.sqrt(total) if math.isfinite(total) else None


def _finite_non_negative(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0
