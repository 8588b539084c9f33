"""A face already verified as another identity is flagged to the verifier, prominently, on the
review page and in the verifiers' API data (never to the owner: it would tell them who else is
enrolled), and the decision's audit event records that the warning was on screen."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from consent.models import Identity, IdentityStatus, IdentityVerification, VerificationStatus
from consent.verification import verification_review, verification_start
from tests.platform.consent.spoken_clips import pin_code, submit_recording

pytestmark = pytest.mark.django_db


def _identity(owner, name: str, descriptor, status: str) -> Identity:
    return Identity.objects.create(
        owner=owner,
        display_name=name,
        reference_descriptor=descriptor,
        status=status,
        verified_at=timezone.now() if status == IdentityStatus.VERIFIED else None,
    )


@pytest.fixture
def someone_elses_verified_face(other_owner, astronaut_descriptor):
    """The astronaut's face, already verified as another owner's identity."""
    return _identity(other_owner, "Eileen Collins", astronaut_descriptor, IdentityStatus.VERIFIED)


def test_a_face_verified_as_another_identity_is_flagged_to_the_verifier(
    client, login, enrolled_identity, owner, verifier, someone_elses_verified_face, astronaut_clip
):
    verification = pin_code(verification_start(identity=enrolled_identity, owner=owner))
    submitted = submit_recording(verification, owner, astronaut_clip)
    assert submitted.status == VerificationStatus.PENDING_REVIEW, submitted.checks
    theirs = someone_elses_verified_face
    submitted_event = AuditEvent.objects.get(action="identity.verification_submitted")
    assert submitted_event.details["same_face_identity_ids"] == [theirs.pk]

    api = APIClient()
    api.force_authenticate(verifier)
    [queued] = api.get("/api/v1/verifications/pending").json()
    [match] = queued["same_face_identities"]
    assert (match["identity_id"], match["display_name"]) == (theirs.pk, "Eileen Collins")
    assert match["owner_username"] == theirs.owner.get_username()
    assert match["distance"] < 0.01
    detail = api.get(f"/api/v1/verifications/{verification.pk}/review").json()
    assert detail["same_face_identities"] == queued["same_face_identities"]

    login(client, verifier)
    page = client.get(reverse("consent:verification_review", args=[verification.pk]))
    text = page.content.decode()
    assert 'id="same-face-warning"' in text
    assert "already a verified identity" in text and "Eileen Collins" in text
    # Prominent: the warning comes before the recording and the decision form.
    assert text.index("same-face-warning") < text.index("<h2>Recording</h2>")

    verification_review(verification=submitted, verifier=verifier, approve=False, reason="Dup.")
    decided = AuditEvent.objects.get(action="identity.rejected")
    assert decided.details["same_face_identity_ids"] == [theirs.pk]


def test_the_owner_is_not_told_about_the_other_identity(
    enrolled_identity, owner, someone_elses_verified_face
):
    api = APIClient()
    api.force_authenticate(owner)
    started = api.post(f"/api/v1/identities/{enrolled_identity.pk}/verifications")
    assert started.status_code == 201
    assert "same_face_identities" not in started.json()
    assert "Eileen" not in started.content.decode()


def test_no_warning_without_another_verified_identity_of_that_face(
    client, login, enrolled_identity, other_owner, verifier, astronaut_descriptor
):
    # The same face, but not verified (still waiting, or rejected), raises no warning.
    _identity(other_owner, "Pending twin", astronaut_descriptor, IdentityStatus.PENDING)
    _identity(other_owner, "Rejected twin", astronaut_descriptor, IdentityStatus.REJECTED)
    verification = IdentityVerification.objects.create(
        identity=enrolled_identity,
        statement="s",
        code="123456",
        code_expires_at=timezone.now(),
        status=VerificationStatus.PENDING_REVIEW,
    )
    login(client, verifier)
    page = client.get(reverse("consent:verification_review", args=[verification.pk]))
    assert "same-face-warning" not in page.content.decode()
    api = APIClient()
    api.force_authenticate(verifier)
    assert api.get("/api/v1/verifications/pending").json()[0]["same_face_identities"] == []
