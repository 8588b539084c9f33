"""A grant to an organisation reaches its members only, and the owner sees who they are."""

from __future__ import annotations

import pytest

from accounts.services import requester_application_review, requester_application_submit
from consent.scope import GrantScope
from consent.selectors import grant_active_for
from consent.services import consent_grant
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation_grant(verified_identity, owner, requester):
    return consent_grant(
        identity=verified_identity,
        owner=owner,
        scope=GrantScope(
            requesters=[],
            organisations=[requester.organisation],
            purposes=["news_explainer"],
            max_clip_seconds=30,
            allowed_emotions=["neutral"],
        ),
    )


def test_typing_the_organisations_name_gives_no_access_to_its_grants(
    organisation_grant, verified_identity, requester, unapproved_requester, verifier
):
    """The outside probe's attack: apply with an existing organisation's name, get approved."""
    assert grant_active_for(
        identity=verified_identity, requester=requester, purpose="news_explainer"
    )
    with pytest.raises(ApplicationError):
        requester_application_submit(
            requester=unapproved_requester,
            organisation_name=requester.organisation.name,
            intended_use="Explainer videos presented by our consenting anchor.",
            accept_use_policy=True,
        )
    # Founding a look-alike organisation and being approved reaches no one's grant either.
    application = requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Newsroom Ltd",
        intended_use="Explainer videos presented by our consenting anchor.",
        accept_use_policy=True,
    )
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Looks fine."
    )
    unapproved_requester.refresh_from_db()
    assert (
        grant_active_for(
            identity=verified_identity, requester=unapproved_requester, purpose="news_explainer"
        )
        is None
    )


def test_the_grant_form_shows_the_named_organisations_members_before_granting(
    client, owner, verified_identity, requester
):
    client.force_login(owner)
    url = f"/consent/identities/{verified_identity.pk}/grants/new/"
    form = {
        "organisations": "newsroom",
        "purposes": ["news_explainer"],
        "max_clip_seconds": 20,
        "allowed_emotions": ["neutral"],
        "expires_on": "2027-01-31",
    }
    shown = client.post(url, form)
    assert shown.status_code == 200 and not verified_identity.grants.exists()
    page = shown.content.decode()
    assert f"Newsroom (organisation): Riley ({requester.username})" in page
    confirmed = shown.context["form"].data["confirmed_reach"]
    granted = client.post(url, {**form, "confirmed_reach": confirmed})
    grant = verified_identity.grants.get()
    assert granted.url == f"/consent/grants/{grant.pk}/"
    assert list(grant.organisations.all()) == [requester.organisation]
    detail = client.get(granted.url).content.decode()
    assert f"Newsroom (organisation): Riley ({requester.username})" in detail


def test_a_member_who_joins_after_the_owner_looked_needs_a_new_confirmation(
    client, owner, verified_identity, requester, other_requester
):
    client.force_login(owner)
    url = f"/consent/identities/{verified_identity.pk}/grants/new/"
    form = {
        "organisations": "Newsroom",
        "purposes": ["news_explainer"],
        "max_clip_seconds": 20,
        "allowed_emotions": ["neutral"],
        "expires_on": "2027-01-31",
    }
    confirmed = client.post(url, form).context["form"].data["confirmed_reach"]
    other_requester.organisation = requester.organisation
    other_requester.save(update_fields=["organisation"])
    again = client.post(url, {**form, "confirmed_reach": confirmed})
    assert again.status_code == 200 and not verified_identity.grants.exists()
    assert f"({other_requester.username})" in again.content.decode()
