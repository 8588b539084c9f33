"""Joining an organisation needs its admin's invitation; typing its name founds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Organisation, OrganisationInvitation
from accounts.services import (
    organisation_invitation_create,
    requester_application_review,
    requester_application_submit,
)
from audit.models import AuditEvent
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db

USE = "Explainer videos presented by our consenting anchor."


def _apply(user, **where):
    return requester_application_submit(
        requester=user, intended_use=USE, accept_use_policy=True, **where
    )


@pytest.mark.parametrize("typed", ["Newsroom", "newsroom", "  NEWSROOM "])
def test_it_refuses_an_existing_organisations_name(requester, unapproved_requester, typed):
    with pytest.raises(ApplicationError) as error:
        _apply(unapproved_requester, organisation_name=typed)
    assert error.value.code == "organisation_exists"
    assert "invitation code" in error.value.message
    unapproved_requester.refresh_from_db()
    assert unapproved_requester.organisation_id is None
    assert not unapproved_requester.applications.exists()


def test_the_founder_becomes_member_and_admin_only_when_approved(unapproved_requester, verifier):
    application = _apply(unapproved_requester, organisation_name="Fresh Studio")
    unapproved_requester.refresh_from_db()
    assert unapproved_requester.organisation_id is None
    assert application.organisation.admin_id is None
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Known studio."
    )
    unapproved_requester.refresh_from_db()
    organisation = Organisation.objects.get(name="Fresh Studio")
    assert unapproved_requester.organisation_id == organisation.pk
    assert organisation.admin_id == unapproved_requester.pk


def test_an_admins_invitation_lets_one_person_join_after_review(
    requester, unapproved_requester, verifier
):
    _, code = organisation_invitation_create(organisation=requester.organisation, inviter=requester)
    assert not OrganisationInvitation.objects.filter(code_hash=code).exists()  # only its hash
    application = _apply(unapproved_requester, invitation_code=code)
    assert application.joins_existing_organisation
    unapproved_requester.refresh_from_db()
    assert unapproved_requester.organisation_id is None  # not before the verifier approves
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Invited colleague."
    )
    unapproved_requester.refresh_from_db()
    assert unapproved_requester.organisation_id == requester.organisation_id
    assert requester.organisation.admin_id == requester.pk  # a joiner does not become admin


def test_an_invitation_works_once(requester, unapproved_requester, other_requester):
    _, code = organisation_invitation_create(organisation=requester.organisation, inviter=requester)
    _apply(unapproved_requester, invitation_code=code)
    other_requester.applications.all().delete()
    with pytest.raises(ApplicationError) as error:
        _apply(other_requester, invitation_code=code)
    assert error.value.code == "invalid_invitation"


def test_an_expired_or_unknown_invitation_is_refused(requester, unapproved_requester):
    invitation, code = organisation_invitation_create(
        organisation=requester.organisation, inviter=requester
    )
    invitation.expires_at = timezone.now() - timedelta(seconds=1)
    invitation.save()
    for attempt in (code, "not-a-code"):
        with pytest.raises(ApplicationError) as error:
            _apply(unapproved_requester, invitation_code=attempt)
        assert error.value.code == "invalid_invitation"


def test_only_the_organisations_admin_invites(requester, other_requester, verifier):
    _, code = organisation_invitation_create(organisation=requester.organisation, inviter=requester)
    # A second member, invited and approved, is a member but not the admin.
    other_requester.applications.all().delete()
    application = _apply(other_requester, invitation_code=code)
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Colleague."
    )
    other_requester.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        organisation_invitation_create(organisation=requester.organisation, inviter=other_requester)
    assert error.value.status_code == 403
    assert AuditEvent.objects.filter(
        action="organisation.invitation_create", outcome="denied"
    ).exists()


def test_an_application_names_either_a_new_organisation_or_an_invitation(unapproved_requester):
    for where in ({}, {"organisation_name": "A", "invitation_code": "b"}):
        with pytest.raises(ApplicationError) as error:
            _apply(unapproved_requester, **where)
        assert error.value.code == "organisation_or_invitation"


def test_the_portal_form_says_the_name_is_taken(client, requester, unapproved_requester):
    client.force_login(unapproved_requester)
    response = client.post(
        "/accounts/apply/",
        {"organisation": "Newsroom", "intended_use": USE, "accept_use_policy": "on"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not unapproved_requester.applications.exists()


def test_the_admin_makes_an_invitation_code_on_the_organisation_page(client, requester):
    client.force_login(requester)
    page = client.get("/accounts/organisation/").content.decode()
    assert "Newsroom" in page and "Create an invitation code" in page
    response = client.post("/accounts/organisation/")
    assert 'id="invitation-code"' in response.content.decode()
    assert OrganisationInvitation.objects.filter(organisation=requester.organisation).count() == 1


def test_the_verifier_sees_that_an_application_joins_an_existing_organisation(
    client, login, requester, unapproved_requester, verifier
):
    _, code = organisation_invitation_create(organisation=requester.organisation, inviter=requester)
    application = _apply(unapproved_requester, invitation_code=code)
    login(client, verifier)
    page = client.get(f"/accounts/applications/{application.pk}/").content.decode()
    assert "Joins existing organisation Newsroom (1 member)" in page
    assert "invited by its administrator" in page and requester.username in page
