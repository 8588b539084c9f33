"""Every audit action code, grouped by domain (as Zulip's AuditLogEventType is).

The value is what `AuditEvent.action` stores and what the Merkle leaves hash, so a value never
changes once events carry it: rename the member, not the string. A new action is a new member
here, in its domain's block. Events written before a rename keep their old code (the log is
append-only): "requester.applied/review/approved/rejected" became "account.application_*".
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # --- accounts: sign-up, requester applications, organisations ------------------------------
    ACCOUNT_SIGNED_UP = "account.signed_up"
    ACCOUNT_DEMO_SEEDED = "account.demo_seeded"
    ACCOUNT_APPLICATION_SUBMITTED = "account.application_submitted"
    # A refused attempt to review (outcome "denied"); the decision itself is one of the next two.
    ACCOUNT_APPLICATION_REVIEW = "account.application_review"
    ACCOUNT_APPLICATION_APPROVED = "account.application_approved"
    ACCOUNT_APPLICATION_REJECTED = "account.application_rejected"
    ORGANISATION_INVITATION_CREATE = "organisation.invitation_create"  # refused attempt
    ORGANISATION_INVITATION_CREATED = "organisation.invitation_created"

    # --- authentication: second factor and API tokens ------------------------------------------
    AUTH_OTP_ENROLLED = "auth.otp_enrolled"
    AUTH_OTP_VERIFIED = "auth.otp_verified"
    AUTH_OTP_FAILED = "auth.otp_failed"
    API_TOKEN_ISSUED = "api.token_issued"  # noqa: S105 (an action code)
    API_TOKEN_REFUSED = "api.token_refused"  # noqa: S105 (an action code)
    API_TOKEN_REVOKED = "api.token_revoked"  # noqa: S105 (an action code)
    API_TOKENS_REVOKED_ALL = "api.tokens_revoked_all"

    # --- identities: portraits, verification, biometric data -----------------------------------
    IDENTITY_CREATED = "identity.created"
    IDENTITY_PORTRAIT_ENROLLED = "identity.portrait_enrolled"
    IDENTITY_PORTRAIT_REFUSED = "identity.portrait_refused"
    IDENTITY_LIKENESS_PROTECTION_CHANGED = "identity.likeness_protection_changed"
    IDENTITY_VERIFICATION_STARTED = "identity.verification_started"
    IDENTITY_VERIFICATION_RECORDING_STARTED = "identity.verification_recording_started"
    IDENTITY_VERIFICATION_SUBMITTED = "identity.verification_submitted"
    IDENTITY_REVIEW = "identity.review"  # refused attempt to review
    IDENTITY_VERIFIED = "identity.verified"
    IDENTITY_REJECTED = "identity.rejected"
    IDENTITY_BIOMETRICS_DELETED = "identity.biometrics_deleted"

    # --- consent grants --------------------------------------------------------------------
    CONSENT_GRANTED = "consent.granted"
    CONSENT_CHANGED = "consent.changed"
    CONSENT_REVOKED = "consent.revoked"

    # --- generation: the policy decision and the job's life ------------------------------------
    POLICY_DECIDED = "policy.decided"
    JOB_SUBMITTED = "job.submitted"
    JOB_CANCELLED = "job.cancelled"
    JOB_FAILED = "job.failed"
    JOB_REQUEUED = "job.requeued"
    JOB_PUBLISHED = "job.published"
    JOB_MEDIA_ERASED = "job.media_erased"

    # --- live sessions: real-time streams on a live node ----------------------------------------
    LIVE_STARTED = "live.started"
    LIVE_ENDED = "live.ended"  # published: signed, registered, among the requester's videos
    LIVE_TERMINATED = "live.terminated"  # consent revoked mid-stream: nothing published
    LIVE_FAILED = "live.failed"

    # --- detection -----------------------------------------------------------------------------
    DETECTION_CHECKED = "detection.checked"

    # --- the audit log itself and the system -----------------------------------------------
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_VERIFICATION_FAILED = "audit.verification_failed"
    SYSTEM_WORKER_PROBE = "system.worker_probe"

    @property
    def domain(self) -> str:
        """The part before the dot ("consent" for "consent.revoked"): the auditor filters by it."""
        return self.value.split(".", 1)[0]
