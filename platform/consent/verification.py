"""Identity verification: a statement with a one-time code, the owner's recording of it (bound
to the page's recorder session), the automatic checks on the clip, and a verifier's review.
Each service writes its audit event in its own transaction."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import verifier_required
from audit.actions import AuditAction
from audit.services import audit_record
from consent.clip_checks import ClipCheckSettings, clip_check
from consent.models import Identity, IdentityStatus, IdentityVerification, VerificationStatus
from consent.selectors import identity_face_matches, identity_reference_descriptor
from consent.services import identity_owner_check
from core.errors import ApplicationError
from core.keys import c2pa_signing_identity, secret_bytes

# Digits: the owner reads the code aloud, a digits grammar checks it was heard, and a verifier
# compares it by ear.
CODE_ALPHABET = "0123456789"
CODE_LENGTH = 6
# A recorder session's nonce lives as long as the longest recording plus this much for the
# upload; a recording must arrive within it.
RECORDING_UPLOAD_SECONDS = 120


def verification_statement(*, identity: Identity, code: str) -> str:
    """The words the owner reads aloud: who they are, who runs the platform, what it may do."""
    return (
        f"My name is {identity.display_name}. I am the holder of the account "
        f"'{identity.owner.get_username()}' and the person in its reference portraits. "
        f"I ask {settings.PLATFORM_OPERATOR} to make talking-face videos with my likeness, "
        "only for the people, organisations and purposes I name in my consent grants, "
        "only until they expire or I withdraw my consent, and I know I can withdraw it at any "
        f"time. My one-time code is {' '.join(code)}."
    )


@transaction.atomic
def verification_start(*, identity: Identity, owner: User) -> IdentityVerification:
    """Issue a statement with a fresh one-time code (valid 15 minutes); earlier unused codes die."""
    identity_owner_check(identity, owner)
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    if identity.reference_descriptor is None:
        raise ApplicationError(
            "Enrol a reference portrait before verifying your identity.",
            code="no_reference_portrait",
        )
    if identity.status == IdentityStatus.VERIFIED:
        raise ApplicationError("This identity is already verified.", code="already_verified")
    if identity.status == IdentityStatus.PENDING:
        raise ApplicationError(
            "Your recording is waiting for a verifier already.", code="verification_pending"
        )
    now = timezone.now()
    identity.verifications.filter(
        status=VerificationStatus.AWAITING_CLIP, code_used_at__isnull=True
    ).update(code_expires_at=now)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    verification = IdentityVerification(
        identity=identity,
        statement=verification_statement(identity=identity, code=code),
        code=code,
        code_expires_at=now + timedelta(minutes=settings.CONSENT_CODE_MINUTES),
    )
    verification.full_clean()
    verification.save()
    audit_record(
        action=AuditAction.IDENTITY_VERIFICATION_STARTED,
        actor=owner,
        subject_type="identity",
        subject_id=identity.pk,
        details={"verification_id": verification.pk},
    )
    return verification


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8", "replace")).hexdigest()


def _recording_nonce_lifetime() -> timedelta:
    return timedelta(seconds=settings.CONSENT_CLIP_MAX_SECONDS + RECORDING_UPLOAD_SECONDS)


@transaction.atomic
def verification_recording_start(
    *, verification: IdentityVerification, owner: User
) -> tuple[IdentityVerification, str]:
    """Open a recorder session: a fresh single-use nonce (returned once; only its hash is kept)
    that the clip must carry, and the time recording began. A new session replaces the last."""
    identity_owner_check(verification.identity, owner)
    verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
    now = timezone.now()
    if verification.code_used_at is not None or (
        verification.status != VerificationStatus.AWAITING_CLIP
    ):
        raise ApplicationError(
            "This code was already used. Start again for a new code.", code="code_used"
        )
    if now >= verification.code_expires_at:
        raise ApplicationError(
            "This code has expired. Start again for a new code.", code="code_expired"
        )
    nonce = secrets.token_urlsafe(32)
    verification.recording_nonce_sha256 = _nonce_hash(nonce)
    verification.recording_started_at = now
    verification.save(update_fields=["recording_nonce_sha256", "recording_started_at"])
    audit_record(
        action=AuditAction.IDENTITY_VERIFICATION_RECORDING_STARTED,
        actor=owner,
        subject_type="identity",
        subject_id=verification.identity_id,
        details={"verification_id": verification.pk},
    )
    return verification, nonce


def _clip_check_settings(*, code: str) -> ClipCheckSettings:
    return ClipCheckSettings(
        sample_frames=settings.CONSENT_CLIP_SAMPLE_FRAMES,
        min_face_fraction=settings.CONSENT_CLIP_MIN_FACE_FRACTION,
        match_threshold=settings.CONSENT_FACE_MATCH_THRESHOLD,
        min_seconds=settings.CONSENT_CLIP_MIN_SECONDS,
        max_seconds=settings.CONSENT_CLIP_MAX_SECONDS,
        max_bytes=settings.CONSENT_CLIP_MAX_BYTES,
        code=code,
        watermark_key=secret_bytes("watermark"),
        trust_anchor=c2pa_signing_identity().root_pem,
    )


def verification_submit_clip(
    *,
    verification: IdentityVerification,
    owner: User,
    data: bytes,
    source: str,
    nonce: str = "",
) -> IdentityVerification:
    """Take the owner's recording, burn the code, run the automatic checks.

    Passing clips wait for a verifier; failing ones are kept with their reasons and the owner
    starts again with a new code. `source` is "recording" (the page's recorder, which must send
    the `nonce` of the recorder session it opened) or "upload" (only when uploads are allowed).
    """
    received_at = timezone.now()
    identity = verification.identity
    identity_owner_check(identity, owner)
    if source not in ("recording", "upload"):
        raise ApplicationError("Unknown clip source.", code="invalid_source")
    if source == "upload" and not settings.CONSENT_ALLOW_CLIP_UPLOAD:
        raise ApplicationError(
            "Record the statement in your browser; uploads are switched off.",
            code="upload_not_allowed",
        )
    if not data:
        raise ApplicationError("The recording is empty.", code="empty_clip")
    if len(data) > settings.CONSENT_CLIP_MAX_BYTES:
        raise ApplicationError("The recording is too large.", code="clip_too_large")
    started_at = _code_burn(
        verification=verification,
        owner=owner,
        nonce=nonce if source == "recording" else None,
        now=received_at,
    )
    recording_seconds = (
        (received_at - started_at).total_seconds() if started_at is not None else None
    )
    reference = identity_reference_descriptor(identity=identity)
    # The checks decode the clip from a private temporary file (never the web-served tree).
    with tempfile.NamedTemporaryFile(suffix=".clip") as handle:
        handle.write(data)
        handle.flush()
        result = clip_check(
            Path(handle.name),
            reference,
            _clip_check_settings(code=verification.code),
            recording_seconds=recording_seconds,
        )
    return _verification_record_checks(
        verification=verification, owner=owner, data=data, source=source, result=result
    )


def _code_burn(
    *, verification: IdentityVerification, owner: User, nonce: str | None, now: datetime
) -> datetime | None:
    """Use the one-time code (and, for a recording, its recorder session's nonce), or refuse
    (recorded) if either is stale, used or missing. Returns when that session began."""
    with transaction.atomic():
        locked = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
        problem = None
        if locked.code_used_at is not None or locked.status != VerificationStatus.AWAITING_CLIP:
            problem = ("code_used", "This code was already used. Start again for a new code.")
        elif now >= locked.code_expires_at:
            problem = ("code_expired", "This code has expired. Start again for a new code.")
        elif nonce is not None:
            problem = _nonce_problem(locked, nonce, now)
        if problem is None:
            started_at = locked.recording_started_at if nonce is not None else None
            locked.code_used_at = now
            locked.recording_nonce_sha256 = ""  # single use
            locked.save(update_fields=["code_used_at", "recording_nonce_sha256"])
            verification.code_used_at = now
            return started_at
    audit_record(
        action=AuditAction.IDENTITY_VERIFICATION_SUBMITTED,
        outcome="denied",
        actor=owner,
        subject_type="identity",
        subject_id=verification.identity_id,
        reason=problem[1],
        details={"verification_id": verification.pk, "failures": [problem[0]]},
    )
    raise ApplicationError(problem[1], code=problem[0])


def _nonce_problem(
    verification: IdentityVerification, nonce: str, now: datetime
) -> tuple[str, str] | None:
    if not verification.recording_nonce_sha256 or verification.recording_started_at is None:
        return (
            "recording_not_started",
            "This clip was not recorded on the verification page (no recorder session was "
            "opened). Record the statement in your browser.",
        )
    if not nonce or not secrets.compare_digest(
        _nonce_hash(nonce), verification.recording_nonce_sha256
    ):
        return (
            "recording_nonce_invalid",
            "This clip does not belong to the recording session opened on the verification "
            "page. Record the statement again.",
        )
    if now > verification.recording_started_at + _recording_nonce_lifetime():
        return (
            "recording_nonce_expired",
            "The recording session has expired. Record the statement again.",
        )
    return None


@transaction.atomic
def _verification_record_checks(
    *, verification: IdentityVerification, owner: User, data: bytes, source: str, result
) -> IdentityVerification:
    verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
    identity = Identity.objects.select_for_update().get(pk=verification.identity_id)
    verification.clip.save(f"clip-{uuid.uuid4().hex}.webm", ContentFile(data), save=False)
    verification.clip_sha256 = hashlib.sha256(data).hexdigest()
    verification.clip_source = source
    verification.checks = result.as_json()
    verification.match_distance = result.match_distance
    verification.submitted_at = timezone.now()
    verification.status = (
        VerificationStatus.PENDING_REVIEW if result.passed else VerificationStatus.CHECKS_FAILED
    )
    verification.save()
    if result.passed:
        identity.status = IdentityStatus.PENDING
        identity.save(update_fields=["status"])
    face_matches = identity_face_matches(identity=identity)
    audit_record(
        action=AuditAction.IDENTITY_VERIFICATION_SUBMITTED,
        outcome="allowed" if result.passed else "denied",
        actor=owner,
        subject_type="identity",
        subject_id=identity.pk,
        reason="; ".join(result.failures),
        details={
            "verification_id": verification.pk,
            "clip_sha256": verification.clip_sha256,
            "source": source,
            "failures": result.failure_codes,
            "face_fraction": result.face_fraction,
            "match_distance": result.match_distance,
            "duration_s": result.duration_s,
            "same_face_identity_ids": [match.identity_id for match in face_matches],
        },
    )
    return verification


def verification_review(
    *, verification: IdentityVerification, verifier: User, approve: bool, reason: str
) -> IdentityVerification:
    """A verifier approves or rejects a clip that passed the automatic checks."""
    verifier_required(
        user=verifier,
        action=AuditAction.IDENTITY_REVIEW,
        subject_type="identity",
        subject_id=verification.identity_id,
        message="Only verifiers review identities.",
    )
    return _verification_decide(
        verification=verification, verifier=verifier, approve=approve, reason=reason
    )


@transaction.atomic
def _verification_decide(
    *, verification: IdentityVerification, verifier: User, approve: bool, reason: str
) -> IdentityVerification:
    verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
    identity = Identity.objects.select_for_update().get(pk=verification.identity_id)
    if verification.status != VerificationStatus.PENDING_REVIEW:
        raise ApplicationError(
            "This verification is not waiting for review.", code="not_reviewable"
        )
    if not reason.strip():
        raise ApplicationError("Give a reason for your decision.", code="reason_required")
    if identity.owner_id == verifier.pk:
        raise ApplicationError("You cannot verify your own identity.", code="own_identity")
    now = timezone.now()
    verification.status = VerificationStatus.APPROVED if approve else VerificationStatus.REJECTED
    verification.reviewed_by = verifier
    verification.reviewed_at = now
    verification.review_reason = reason.strip()
    verification.save()
    identity.status = IdentityStatus.VERIFIED if approve else IdentityStatus.REJECTED
    identity.verified_at = now if approve else None
    identity.save(update_fields=["status", "verified_at"])
    audit_record(
        action=AuditAction.IDENTITY_VERIFIED if approve else AuditAction.IDENTITY_REJECTED,
        actor=verifier,
        subject_type="identity",
        subject_id=identity.pk,
        reason=verification.review_reason,
        details={
            "verification_id": verification.pk,
            "clip_sha256": verification.clip_sha256,
            "match_distance": verification.match_distance,
            # Decided with this warning on screen: other verified identities with this face.
            "same_face_identity_ids": [
                match.identity_id for match in identity_face_matches(identity=identity)
            ],
        },
    )
    return verification
