"""The owner deletes their biometric data themselves; hashes stay for receipts and the log."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from consent.models import ReferencePortrait
from consent.portraits import portrait_enrol
from consent.selectors import protected_identities, receipt_for_grant
from consent.services import identity_biometrics_delete
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db(transaction=True)  # files go on commit


def test_it_deletes_portraits_descriptors_and_clips_but_keeps_hashes(active_grant, owner, settings):
    identity = active_grant.identity
    portrait = identity.portraits.get()
    portrait_path = settings.MEDIA_ROOT / portrait.file.name
    assert portrait_path.exists()
    identity_biometrics_delete(identity=identity, owner=owner)
    identity.refresh_from_db()
    portrait = ReferencePortrait.objects.get(pk=portrait.pk)
    assert identity.reference_descriptor is None and identity.biometric_deleted_at is not None
    assert (portrait.file.name, portrait.descriptor) == ("", None)
    assert len(portrait.sha256) == 64
    assert not portrait_path.exists()
    assert protected_identities() == []
    event = AuditEvent.objects.get(action="identity.biometrics_deleted")
    assert event.details["portrait_sha256"] == [portrait.sha256]


def test_deletion_withdraws_active_consent_with_a_receipt(active_grant, owner):
    identity_biometrics_delete(identity=active_grant.identity, owner=owner)
    active_grant.refresh_from_db()
    assert active_grant.revoked_at is not None
    assert receipt_for_grant(grant=active_grant).event == "revoked"


def test_no_new_portrait_after_deletion(active_grant, owner, astronaut_png):
    identity = active_grant.identity
    identity_biometrics_delete(identity=identity, owner=owner)
    with pytest.raises(ApplicationError) as raised:
        portrait_enrol(identity=identity, owner=owner, data=astronaut_png, filename="a.png")
    assert raised.value.code == "biometrics_deleted"


def test_only_the_owner_deletes(active_grant, other_owner):
    with pytest.raises(ApplicationError):
        identity_biometrics_delete(identity=active_grant.identity, owner=other_owner)


def test_it_deletes_the_verification_recording_and_keeps_its_hash(
    enrolled_identity, owner, astronaut_clip, settings
):
    from consent.verification import verification_start
    from tests.platform.consent.spoken_clips import submit_recording

    verification = submit_recording(
        verification_start(identity=enrolled_identity, owner=owner), owner, astronaut_clip
    )
    clip_path = settings.MEDIA_ROOT / verification.clip.name
    assert clip_path.exists()
    identity_biometrics_delete(identity=enrolled_identity, owner=owner)
    verification.refresh_from_db()
    assert not clip_path.exists()
    assert verification.clip.name == "" and len(verification.clip_sha256) == 64
    event = AuditEvent.objects.get(action="identity.biometrics_deleted")
    assert event.details["clip_sha256"] == [verification.clip_sha256]
