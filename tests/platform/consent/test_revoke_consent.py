"""One-click revocation: effective at once, receipted, audited, and applied to jobs."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from consent.selectors import grant_active_for, receipt_for_grant
from consent.services import consent_change, consent_revoke
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_revocation_ends_the_grant_at_once(active_grant, owner, requester):
    revoked = consent_revoke(grant=active_grant, owner=owner)
    assert revoked.revoked_at is not None
    assert (
        grant_active_for(
            identity=active_grant.identity, requester=requester, purpose="news_explainer"
        )
        is None
    )


def test_revocation_is_receipted_and_audited(active_grant, owner):
    consent_revoke(grant=active_grant, owner=owner)
    receipt = receipt_for_grant(grant=active_grant)
    assert receipt.event == "revoked"
    assert receipt.document["consentRecord"]["state"] == "withdrawn"
    assert receipt.document["consentRecord"]["withdrawnAt"]
    event = AuditEvent.objects.get(action="consent.revoked")
    assert event.details == {
        "grant_id": active_grant.pk,
        "identity_id": active_grant.identity_id,
        "jobs_cancelled": 0,
        "outputs_marked": 0,
        "receipt_id": str(receipt.receipt_id),
        "receipt_sha256": receipt.document_sha256,
    }


def test_revoking_an_old_version_revokes_the_current_one(active_grant, owner, grant_scope):
    new = consent_change(grant=active_grant, owner=owner, scope=grant_scope)
    revoked = consent_revoke(grant=active_grant, owner=owner)
    assert revoked.pk == new.pk
    assert revoked.revoked_at is not None


def test_it_cannot_be_revoked_twice(active_grant, owner):
    consent_revoke(grant=active_grant, owner=owner)
    with pytest.raises(ApplicationError) as raised:
        consent_revoke(grant=active_grant, owner=owner)
    assert raised.value.code == "already_revoked"


def test_only_the_owner_revokes(active_grant, other_owner):
    with pytest.raises(ApplicationError) as raised:
        consent_revoke(grant=active_grant, owner=other_owner)
    assert raised.value.status_code == 403
