"""The cross-app reads the jobs and detection apps rely on."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from consent.models import ConsentGrant, Identity, IdentityStatus
from consent.selectors import (
    grant_active_for,
    grant_policy_facts,
    identities_for_requester,
    identity_reference_descriptor,
    protected_identities,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def verified_identity(owner):
    return Identity.objects.create(
        owner=owner,
        display_name="Olivia Owner",
        status=IdentityStatus.VERIFIED,
        verified_at=timezone.now(),
        reference_descriptor=[0.01] * 128,
    )


def _grant(identity, **fields):
    defaults = {
        "purposes": ["news_explainer"],
        "allowed_emotions": ["neutral"],
        "expires_at": timezone.now() + timedelta(days=30),
    }
    defaults.update(fields)
    return ConsentGrant.objects.create(identity=identity, **defaults)


def test_it_finds_the_grant_naming_the_requester_for_the_purpose(verified_identity, requester):
    grant = _grant(verified_identity)
    grant.requesters.add(requester)
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="news_explainer")
        == grant
    )
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="marketing")
        is None
    )


def test_it_finds_a_grant_naming_the_requesters_organisation(verified_identity, requester):
    grant = _grant(verified_identity)
    grant.organisations.add(requester.organisation)
    assert identities_for_requester(requester=requester) == [(verified_identity, grant)]


def test_it_ignores_grants_for_other_requesters(verified_identity, requester, other_requester):
    _grant(verified_identity).requesters.add(other_requester)
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="news_explainer")
        is None
    )
    assert identities_for_requester(requester=requester) == []


def test_it_ignores_revoked_superseded_and_expired_grants(verified_identity, requester):
    now = timezone.now()
    for fields in ({"revoked_at": now}, {"superseded_at": now}, {"expires_at": now}):
        _grant(verified_identity, **fields).requesters.add(requester)
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="news_explainer")
        is None
    )


def test_an_unverified_identity_has_no_usable_grant(verified_identity, requester):
    _grant(verified_identity).requesters.add(requester)
    verified_identity.status = IdentityStatus.PENDING
    verified_identity.save()
    assert (
        grant_active_for(identity=verified_identity, requester=requester, purpose="news_explainer")
        is None
    )


def test_protected_identities_skip_deleted_biometrics(verified_identity, owner):
    Identity.objects.create(owner=owner, display_name="No face", status=IdentityStatus.VERIFIED)
    rows = protected_identities()
    assert [identity for identity, _ in rows] == [verified_identity]
    assert rows[0][1].shape == (128,)
    assert (
        identity_reference_descriptor(identity=Identity.objects.get(display_name="No face")) is None
    )
    assert isinstance(rows[0][1], np.ndarray)


def test_grant_facts_carry_the_named_parties(verified_identity, requester):
    grant = _grant(verified_identity)
    grant.requesters.add(requester)
    grant.organisations.add(requester.organisation)
    facts = grant_policy_facts(grant=grant)
    assert facts.requester_ids == {requester.pk}
    assert facts.organisation_ids == {requester.organisation_id}
    assert facts.purposes == {"news_explainer"}
