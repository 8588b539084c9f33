"""Identity verification: statement and one-time code, automatic clip checks, human review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from consent.models import IdentityStatus, VerificationStatus
from consent.verification import (
    verification_recording_start,
    verification_review,
    verification_start,
    verification_submit_clip,
)
from core.errors import ApplicationError
from tests.platform.consent.spoken_clips import pin_code, submit_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def verification(enrolled_identity, owner):
    return pin_code(verification_start(identity=enrolled_identity, owner=owner))


def _submit(verification, owner, data, source="recording"):
    if source == "recording":
        return submit_recording(verification, owner, data)
    return verification_submit_clip(
        verification=verification, owner=owner, data=data, source=source
    )


def test_the_statement_names_owner_operator_scope_and_a_fresh_code(
    enrolled_identity, owner, settings
):
    verification = verification_start(identity=enrolled_identity, owner=owner)
    assert verification.code.isdigit() and len(verification.code) == 6
    assert "Olivia Owner" in verification.statement
    assert "'olivia'" in verification.statement
    assert settings.PLATFORM_OPERATOR in verification.statement
    assert "purposes I name in my consent grants" in verification.statement
    assert verification.statement.endswith(f"{' '.join(verification.code)}.")
    lifetime = verification.code_expires_at - verification.created_at
    assert timedelta(minutes=14, seconds=59) <= lifetime <= timedelta(minutes=15, seconds=1)


def test_a_clip_of_the_enrolled_face_passes_the_checks(verification, owner, astronaut_clip):
    result = _submit(verification, owner, astronaut_clip)
    assert result.status == VerificationStatus.PENDING_REVIEW, result.checks
    assert result.checks["face_fraction"] == 1.0
    assert result.match_distance < 0.5
    assert result.checks["code_heard"] and result.checks["speech_seconds"] > 2
    assert result.checks["motion"] > 6
    assert result.identity.status == IdentityStatus.PENDING
    event = AuditEvent.objects.get(action="identity.verification_submitted")
    assert event.outcome == "allowed"
    assert event.details["clip_sha256"] == result.clip_sha256


def test_the_code_works_only_once(verification, owner, astronaut_clip):
    _submit(verification, owner, astronaut_clip)
    with pytest.raises(ApplicationError) as raised:
        _submit(verification, owner, astronaut_clip)
    assert raised.value.code == "code_used"


def test_an_expired_code_is_refused_and_logged(verification, owner, astronaut_clip):
    verification, nonce = verification_recording_start(verification=verification, owner=owner)
    verification.code_expires_at = timezone.now() - timedelta(seconds=1)
    verification.save()
    with pytest.raises(ApplicationError) as raised:
        verification_submit_clip(
            verification=verification,
            owner=owner,
            data=astronaut_clip,
            source="recording",
            nonce=nonce,
        )
    assert raised.value.code == "code_expired"
    assert AuditEvent.objects.filter(
        action="identity.verification_submitted", outcome="denied"
    ).exists()


def test_a_clip_without_a_face_fails(verification, owner, faceless_clip):
    result = _submit(verification, owner, faceless_clip)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert "no_face" in result.checks["failure_codes"]
    assert "No face was found" in " ".join(result.checks["failures"])


@pytest.mark.slow
def test_a_clip_of_another_person_fails_the_match(verification, owner, cameraman_clip, settings):
    settings.CONSENT_CLIP_SAMPLE_FRAMES = 2  # his face needs the slow CNN detector
    result = _submit(verification, owner, cameraman_clip)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert "face_mismatch" in result.checks["failure_codes"]
    assert result.match_distance > 0.5


def test_a_too_short_clip_fails(verification, owner, short_astronaut_clip):
    result = _submit(verification, owner, short_astronaut_clip)
    assert "clip_too_short" in result.checks["failure_codes"]


def test_a_file_that_is_not_a_video_fails(verification, owner, astronaut_png):
    result = _submit(verification, owner, astronaut_png)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["clip_unreadable"]


def test_uploads_are_refused_unless_the_setting_allows_them(
    verification, owner, astronaut_clip, settings
):
    settings.CONSENT_ALLOW_CLIP_UPLOAD = False
    with pytest.raises(ApplicationError) as raised:
        _submit(verification, owner, astronaut_clip, source="upload")
    assert raised.value.code == "upload_not_allowed"
    settings.CONSENT_ALLOW_CLIP_UPLOAD = True
    assert _submit(verification, owner, astronaut_clip, source="upload").clip_source == "upload"


def test_a_verifier_approves_with_a_reason(verification, owner, verifier, astronaut_clip):
    submitted = _submit(verification, owner, astronaut_clip)
    verification_review(verification=submitted, verifier=verifier, approve=True, reason="Matches.")
    submitted.identity.refresh_from_db()
    assert submitted.identity.status == IdentityStatus.VERIFIED
    assert submitted.identity.verified_at is not None
    event = AuditEvent.objects.get(action="identity.verified")
    assert (event.actor_id, event.reason) == (verifier.pk, "Matches.")


def test_a_verifier_rejects_with_a_reason(verification, owner, verifier, astronaut_clip):
    submitted = _submit(verification, owner, astronaut_clip)
    verification_review(
        verification=submitted, verifier=verifier, approve=False, reason="Code not read."
    )
    submitted.identity.refresh_from_db()
    assert submitted.identity.status == IdentityStatus.REJECTED
    assert AuditEvent.objects.get(action="identity.rejected").reason == "Code not read."


def test_a_review_needs_a_reason(verification, owner, verifier, astronaut_clip):
    submitted = _submit(verification, owner, astronaut_clip)
    with pytest.raises(ApplicationError) as raised:
        verification_review(verification=submitted, verifier=verifier, approve=True, reason=" ")
    assert raised.value.code == "reason_required"


def test_only_verifiers_review(verification, owner, requester, astronaut_clip):
    submitted = _submit(verification, owner, astronaut_clip)
    with pytest.raises(ApplicationError) as raised:
        verification_review(verification=submitted, verifier=requester, approve=True, reason="x")
    assert raised.value.status_code == 403
    assert AuditEvent.objects.filter(action="identity.review", outcome="denied").exists()


def test_a_failed_clip_cannot_be_approved(verification, owner, verifier, faceless_clip):
    failed = _submit(verification, owner, faceless_clip)
    with pytest.raises(ApplicationError) as raised:
        verification_review(verification=failed, verifier=verifier, approve=True, reason="ok")
    assert raised.value.code == "not_reviewable"
