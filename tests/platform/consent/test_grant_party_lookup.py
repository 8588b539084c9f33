"""Owners name a grant's requesters and organisations by exact handle: the platform lists
neither, and an unknown name and an unapproved one get the same answer."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.services import requester_application_submit
from consent.parties import NO_SUCH_PARTY

pytestmark = pytest.mark.django_db

FORM = {
    "purposes": ["news_explainer"],
    "max_clip_seconds": 20,
    "allowed_emotions": ["neutral"],
    "expires_on": "2027-01-31",
}


@pytest.fixture
def pending_organisation(unapproved_requester):
    """'Pending Studio': founded by an application no verifier has approved yet."""
    requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Pending Studio",
        intended_use="Explainer videos for a studio nobody has checked yet.",
        accept_use_policy=True,
    )
    return "Pending Studio"


def _form_errors(response) -> str:
    return " ".join(response.context["form"].non_field_errors())


def test_the_grant_form_lists_no_requester_or_organisation(
    client, owner, verified_identity, requester, other_requester, unapproved_requester
):
    client.force_login(owner)
    page = client.get(f"/consent/identities/{verified_identity.pk}/grants/new/").content.decode()
    for name in ("riley", "rowan", "uma", "Newsroom", "Other Studio"):
        assert name not in page


def test_an_unknown_and_an_unapproved_requester_get_the_same_answer(
    client, owner, verified_identity, requester, unapproved_requester
):
    client.force_login(owner)
    url = f"/consent/identities/{verified_identity.pk}/grants/new/"
    unapproved = _form_errors(client.post(url, {**FORM, "requesters": "uma"}))
    unknown = _form_errors(client.post(url, {**FORM, "requesters": "umb"}))
    assert unapproved.replace("uma", "?") == unknown.replace("umb", "?")
    assert NO_SUCH_PARTY in unapproved
    assert not verified_identity.grants.exists()


def test_an_organisation_without_approved_members_is_answered_like_an_unknown_one(
    client, owner, verified_identity, requester, pending_organisation
):
    client.force_login(owner)
    url = f"/consent/identities/{verified_identity.pk}/grants/new/"
    pending = _form_errors(client.post(url, {**FORM, "organisations": pending_organisation}))
    unknown = _form_errors(client.post(url, {**FORM, "organisations": "Pending Studios"}))
    assert pending.replace("Pending Studio", "?") == unknown.replace("Pending Studios", "?")
    assert NO_SUCH_PARTY in pending


def test_a_requester_is_found_by_exact_username(client, owner, verified_identity, requester):
    client.force_login(owner)
    url = f"/consent/identities/{verified_identity.pk}/grants/new/"
    response = client.post(url, {**FORM, "requesters": " RILEY, riley "})
    grant = verified_identity.grants.get()
    assert response.url == f"/consent/grants/{grant.pk}/"
    assert list(grant.requesters.all()) == [requester]


def test_changing_a_grant_shows_and_keeps_the_parties_it_names(
    client, owner, active_grant, requester
):
    client.force_login(owner)
    url = f"/consent/grants/{active_grant.pk}/change/"
    page = client.get(url).content.decode()
    assert f'value="{requester.username}"' in page
    # Still kept when the requester has since lost approval (they cannot generate anyway).
    application = requester.applications.get()
    application.status = "rejected"
    application.save(update_fields=["status"])
    response = client.post(url, {**FORM, "requesters": requester.username})
    new = active_grant.identity.grants.get(version=2)
    assert response.url == f"/consent/grants/{new.pk}/"
    assert list(new.requesters.all()) == [requester]


def test_the_api_names_parties_by_handle_with_the_same_neutral_error(
    owner, verified_identity, requester, unapproved_requester
):
    api = APIClient()
    api.force_authenticate(owner)
    url = f"/api/v1/identities/{verified_identity.pk}/consents"
    scope = {"purposes": ["education"], "max_clip_seconds": 15, "allowed_emotions": ["neutral"]}
    errors = [
        api.post(url, {**scope, "requesters": [name]}, format="json").json()["error"]
        for name in ("uma", "umb")
    ]
    assert errors[0]["code"] == errors[1]["code"] == "unknown_party"
    assert errors[0]["message"].replace("uma", "?") == errors[1]["message"].replace("umb", "?")
    by_id = api.post(url, {**scope, "requester_ids": [requester.pk]}, format="json")
    assert by_id.status_code == 400 and "usernames" in by_id.json()["error"]["message"]
    created = api.post(
        url, {**scope, "requesters": ["riley"], "organisations": ["newsroom"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["requesters"] == ["riley"]
    assert body["organisations"] == [{"name": "Newsroom", "members": ["riley"]}]


def test_sign_up_does_not_say_a_username_is_taken(client, requester):
    body = {
        "username": "Riley",
        "full_name": "Someone Else",
        "email": "someone@example.org",
        "password": "another long passphrase 42",
        "role": "owner",
    }
    response = client.post("/api/v1/accounts", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "sign_up_refused" and "taken" not in error["message"].lower()
    page = client.post("/accounts/signup/", body).content.decode()
    assert "taken" not in page.lower() and "could not create an account" in page
