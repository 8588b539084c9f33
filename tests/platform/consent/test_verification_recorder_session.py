"""A clip labelled "recording" must come from the page's recorder: a single-use server nonce
opened when recording starts, for this verification and owner, unexpired, and a clip no longer
than the time since. The label alone is refused (the probe's prepared file got through on it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.models import AuditEvent
from consent.models import IdentityVerification, VerificationStatus
from consent.verification import (
    verification_recording_start,
    verification_start,
    verification_submit_clip,
)
from core.errors import ApplicationError
from tests.platform.consent.spoken_clips import pin_code, submit_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def verification(enrolled_identity, owner):
    return pin_code(verification_start(identity=enrolled_identity, owner=owner))


def _send(verification, owner, data, nonce):
    return verification_submit_clip(
        verification=verification, owner=owner, data=data, source="recording", nonce=nonce
    )


def test_the_api_refuses_a_file_labelled_recording_without_a_recorder_session(
    verification, owner, astronaut_clip, settings
):
    settings.CONSENT_ALLOW_CLIP_UPLOAD = False
    api = APIClient()
    api.force_authenticate(owner)
    response = api.post(
        f"/api/v1/verifications/{verification.pk}/clip",
        {"clip": SimpleUploadedFile("statement.webm", astronaut_clip), "source": "recording"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "recording_not_started"
    verification.refresh_from_db()
    # Nothing half-written: the code still works and no clip was stored.
    assert verification.code_used_at is None and not verification.clip
    assert verification.status == VerificationStatus.AWAITING_CLIP
    event = AuditEvent.objects.get(action="identity.verification_submitted")
    assert (event.outcome, event.details["failures"]) == ("denied", ["recording_not_started"])


def test_a_nonce_of_another_session_is_refused(verification, owner, astronaut_clip):
    verification_recording_start(verification=verification, owner=owner)
    with pytest.raises(ApplicationError) as raised:
        _send(verification, owner, astronaut_clip, nonce="made-up-by-the-uploader")
    assert raised.value.code == "recording_nonce_invalid"


def test_a_nonce_issued_for_another_owners_verification_is_refused(
    verification, owner, other_owner, astronaut_clip, astronaut_descriptor
):
    from consent.services import identity_create

    theirs = identity_create(owner=other_owner, display_name="Oscar Other")
    theirs.reference_descriptor = astronaut_descriptor
    theirs.save()
    their_verification = verification_start(identity=theirs, owner=other_owner)
    _, their_nonce = verification_recording_start(
        verification=their_verification, owner=other_owner
    )
    verification_recording_start(verification=verification, owner=owner)
    with pytest.raises(ApplicationError) as raised:
        _send(verification, owner, astronaut_clip, nonce=their_nonce)
    assert raised.value.code == "recording_nonce_invalid"


def test_only_the_owner_opens_a_recorder_session(verification, other_owner):
    with pytest.raises(ApplicationError) as raised:
        verification_recording_start(verification=verification, owner=other_owner)
    assert raised.value.status_code == 403


def test_an_expired_recorder_session_is_refused(verification, owner, astronaut_clip, settings):
    verification, nonce = verification_recording_start(verification=verification, owner=owner)
    long_ago = verification.recording_started_at - timedelta(
        seconds=settings.CONSENT_CLIP_MAX_SECONDS + 121
    )
    IdentityVerification.objects.filter(pk=verification.pk).update(recording_started_at=long_ago)
    with pytest.raises(ApplicationError) as raised:
        _send(verification, owner, astronaut_clip, nonce)
    assert raised.value.code == "recording_nonce_expired"


def test_a_new_recording_replaces_the_last_sessions_nonce(verification, owner, astronaut_clip):
    _, first = verification_recording_start(verification=verification, owner=owner)
    verification_recording_start(verification=verification, owner=owner)
    with pytest.raises(ApplicationError) as raised:
        _send(verification, owner, astronaut_clip, first)
    assert raised.value.code == "recording_nonce_invalid"


def test_a_clip_longer_than_the_time_since_recording_began_fails(
    verification, owner, astronaut_clip
):
    result = submit_recording(verification, owner, astronaut_clip, recorded_for=1.0)
    assert result.status == VerificationStatus.CHECKS_FAILED
    assert result.checks["failure_codes"] == ["clip_timing"]
    assert "not recorded here" in result.checks["failures"][0]


def test_the_nonce_works_once(verification, owner, astronaut_clip):
    verification, nonce = verification_recording_start(verification=verification, owner=owner)
    IdentityVerification.objects.filter(pk=verification.pk).update(
        recording_started_at=verification.recording_started_at - timedelta(seconds=10)
    )
    assert _send(verification, owner, astronaut_clip, nonce).status == "pending_review"
    with pytest.raises(ApplicationError) as raised:
        _send(verification, owner, astronaut_clip, nonce)
    assert raised.value.code == "code_used"


def test_the_recorder_flow_through_the_api_reaches_review(verification, owner, astronaut_clip):
    api = APIClient()
    api.force_authenticate(owner)
    opened = api.post(f"/api/v1/verifications/{verification.pk}/recording")
    assert opened.status_code == 201, opened.json()
    nonce = opened.json()["nonce"]
    stored = IdentityVerification.objects.get(pk=verification.pk)
    assert nonce not in stored.recording_nonce_sha256  # only its hash is kept
    IdentityVerification.objects.filter(pk=verification.pk).update(
        recording_started_at=stored.recording_started_at - timedelta(seconds=10)
    )
    response = api.post(
        f"/api/v1/verifications/{verification.pk}/clip",
        {
            "clip": SimpleUploadedFile("recording.webm", astronaut_clip),
            "source": "recording",
            "nonce": nonce,
        },
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "pending_review", response.json()["checks"]
    assert "same_face_identities" not in response.json()  # verifiers only
