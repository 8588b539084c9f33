"""The grant's "live" permission: off by default, its own length limit, and a session asked
for under a grant without it is refused before any ticket is signed or node is asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from core.errors import ApplicationError

from .conftest import grant_for

pytestmark = pytest.mark.django_db


def _ask(token, identity):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # Never reaches a node: the offer is refused at the consent check.
    return client.post(
        "/api/v1/live/sessions",
        {"identity": identity.pk, "purpose": "personal", "sdp": "v=0\r\n", "type": "offer"},
        format="json",
    )


def test_a_grant_allows_no_live_session_unless_the_owner_says_so(identity, owner, requester):
    from consent.models import ConsentGrant
    from consent.scope import GrantScope

    assert ConsentGrant._meta.get_field("allow_live").default is False
    assert (
        GrantScope(
            requesters=[requester],
            organisations=[],
            purposes=["personal"],
            max_clip_seconds=60,
            allowed_emotions=["neutral"],
        ).allow_live
        is False
    )
    grant = grant_for(identity, owner, requester, allow_live=False)
    assert grant.allow_live is False and grant.max_live_seconds == 60


def test_a_session_under_a_grant_without_live_is_refused_and_audited(
    identity, owner, requester, api_token
):
    from audit.models import AuditEvent
    from live.models import LiveSession

    grant_for(identity, owner, requester, allow_live=False)
    answer = _ask(api_token, identity)

    assert answer.status_code == 403, answer.content
    assert answer.json()["error"]["code"] == "live_not_allowed"
    assert not LiveSession.objects.exists()
    event = AuditEvent.objects.filter(action="policy.decided").latest("seq")
    assert event.outcome == "denied" and event.details["mode"] == "live"


def test_the_longest_live_session_is_checked_with_the_grant(identity, owner, requester):
    from django.utils import timezone

    from consent.scope import GrantScope
    from consent.services import consent_grant

    with pytest.raises(ApplicationError) as error:
        consent_grant(
            identity=identity,
            owner=owner,
            scope=GrantScope(
                requesters=[requester],
                organisations=[],
                purposes=["personal"],
                max_clip_seconds=60,
                allowed_emotions=["neutral"],
                allow_live=True,
                max_live_seconds=0,
                expires_at=timezone.now() + timedelta(days=30),
            ),
        )
    assert error.value.code == "invalid_live_length"


def test_the_grant_api_takes_and_shows_the_live_permission(identity, owner, requester):
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    made = client.post(
        f"/api/v1/identities/{identity.pk}/consents",
        {
            "requesters": [requester.username],
            "purposes": ["personal"],
            "max_clip_seconds": 30,
            "allowed_emotions": ["neutral"],
            "allow_live": True,
            "max_live_seconds": 120,
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["allow_live"] is True and made.json()["max_live_seconds"] == 120
