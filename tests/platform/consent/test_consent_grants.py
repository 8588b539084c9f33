"""Consent grants: scope checks, versions on change, what the selectors and policy then see."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from consent.models import ConsentGrant, IdentityStatus
from consent.scope import GrantScope
from consent.selectors import grant_active_for, receipt_for_grant
from consent.services import consent_change, consent_grant
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_a_grant_is_version_one_with_a_signed_receipt(active_grant, requester):
    assert active_grant.version == 1
    assert (
        grant_active_for(
            identity=active_grant.identity, requester=requester, purpose="news_explainer"
        )
        == active_grant
    )
    receipt = receipt_for_grant(grant=active_grant)
    assert receipt.event == "granted"
    assert receipt.document["consentRecord"]["state"] == "given"
    event = AuditEvent.objects.get(action="consent.granted")
    assert event.details["receipt_id"] == str(receipt.receipt_id)


def test_the_default_expiry_is_one_year(active_grant):
    expected = timezone.now() + timedelta(days=365)
    assert abs(active_grant.expires_at - expected) < timedelta(minutes=1)


def test_consent_cannot_last_longer_than_a_year(verified_identity, owner, grant_scope):
    with pytest.raises(ApplicationError) as raised:
        consent_grant(
            identity=verified_identity,
            owner=owner,
            scope=replace(grant_scope, expires_at=timezone.now() + timedelta(days=400)),
        )
    assert raised.value.code == "invalid_expiry"


def test_an_unverified_identity_cannot_grant(enrolled_identity, owner, grant_scope):
    assert enrolled_identity.status == IdentityStatus.UNVERIFIED
    with pytest.raises(ApplicationError) as raised:
        consent_grant(identity=enrolled_identity, owner=owner, scope=grant_scope)
    assert raised.value.code == "identity_not_verified"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"requesters": [], "organisations": []}, "no_one_named"),
        ({"purposes": ["surveillance"]}, "invalid_purposes"),
        ({"purposes": []}, "invalid_purposes"),
        ({"allowed_emotions": ["furious"]}, "invalid_emotions"),
        ({"max_clip_seconds": 0}, "invalid_clip_length"),
    ],
)
def test_it_refuses_an_invalid_scope(verified_identity, owner, grant_scope, change, code):
    with pytest.raises(ApplicationError) as raised:
        consent_grant(identity=verified_identity, owner=owner, scope=replace(grant_scope, **change))
    assert raised.value.code == code


def test_only_requesters_can_be_named(verified_identity, owner, grant_scope, other_owner):
    with pytest.raises(ApplicationError) as raised:
        consent_grant(
            identity=verified_identity,
            owner=owner,
            scope=replace(grant_scope, requesters=[other_owner]),
        )
    assert raised.value.code == "not_a_requester"


def test_someone_else_cannot_grant_for_my_identity(verified_identity, other_owner, grant_scope):
    with pytest.raises(ApplicationError) as raised:
        consent_grant(identity=verified_identity, owner=other_owner, scope=grant_scope)
    assert raised.value.status_code == 403


def test_a_change_of_scope_makes_a_new_version(active_grant, owner, grant_scope, requester):
    new = consent_change(
        grant=active_grant, owner=owner, scope=replace(grant_scope, purposes=["education"])
    )
    active_grant.refresh_from_db()
    assert (new.version, new.series) == (2, active_grant.series)
    assert active_grant.superseded_at is not None
    identity = active_grant.identity
    assert grant_active_for(identity=identity, requester=requester, purpose="education") == new
    assert (
        grant_active_for(identity=identity, requester=requester, purpose="news_explainer") is None
    )
    assert receipt_for_grant(grant=new).event == "changed"
    assert AuditEvent.objects.get(action="consent.changed").details["previous_grant_id"] == (
        active_grant.pk
    )


def test_a_superseded_version_cannot_be_changed(active_grant, owner, grant_scope):
    consent_change(grant=active_grant, owner=owner, scope=grant_scope)
    with pytest.raises(ApplicationError) as raised:
        consent_change(grant=active_grant, owner=owner, scope=grant_scope)
    assert raised.value.code == "grant_not_active"
    assert ConsentGrant.objects.filter(series=active_grant.series).count() == 2


def test_an_organisation_grant_covers_its_requesters(verified_identity, owner, requester):
    grant = consent_grant(
        identity=verified_identity,
        owner=owner,
        scope=GrantScope(
            requesters=[],
            organisations=[requester.organisation],
            purposes=["education"],
            max_clip_seconds=20,
            allowed_emotions=["neutral"],
        ),
    )
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="education")
        == grant
    )
