"""Requester onboarding: sign up, apply, a verifier decides, only approved requesters get in."""

from __future__ import annotations

import pytest

from accounts.models import ApplicationStatus, RequesterApplication, User
from accounts.selectors import requester_is_approved
from accounts.services import requester_application_review, requester_application_submit
from audit.models import AuditEvent
from core.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_a_person_signs_up_as_a_requester_through_the_portal(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "nina",
            "full_name": "Nina News",
            "email": "nina@example.org",
            "password": "a long and unusual passphrase",
            "role": "requester",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/apply/"
    assert User.objects.get(username="nina").role == "requester"
    assert AuditEvent.objects.filter(action="account.signed_up").count() == 1


def test_sign_up_refuses_staff_roles(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "mallory",
            "full_name": "Mal",
            "email": "m@example.org",
            "password": "a long and unusual passphrase",
            "role": "auditor",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username="mallory").exists()


def test_a_weak_password_is_a_form_error_not_a_crash(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "nina",
            "full_name": "N",
            "email": "n@example.org",
            "password": "123",
            "role": "owner",
        },
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()


def test_an_application_waits_for_review_and_grants_nothing(unapproved_requester):
    requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Studio",
        intended_use="Narrated product explainers with our own presenter.",
        accept_use_policy=True,
    )
    assert not requester_is_approved(user=unapproved_requester)


def test_an_application_must_accept_the_use_policy(unapproved_requester):
    with pytest.raises(ApplicationError, match="accept the use policy"):
        requester_application_submit(
            requester=unapproved_requester,
            organisation_name="Studio",
            intended_use="Narrated product explainers with our own presenter.",
            accept_use_policy=False,
        )


def test_a_verifier_approval_opens_access_and_is_audited(unapproved_requester, verifier):
    application = requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Studio",
        intended_use="Narrated product explainers with our own presenter.",
        accept_use_policy=True,
    )
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Checked the studio."
    )
    assert requester_is_approved(user=unapproved_requester)
    event = AuditEvent.objects.get(action="account.application_approved")
    assert (event.actor_id, event.reason) == (verifier.pk, "Checked the studio.")


def test_a_rejection_needs_a_reason_and_keeps_access_closed(unapproved_requester, verifier):
    application = requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Studio",
        intended_use="Narrated product explainers with our own presenter.",
        accept_use_policy=True,
    )
    with pytest.raises(ApplicationError, match="reason"):
        requester_application_review(
            application=application, verifier=verifier, approve=False, reason=" "
        )
    requester_application_review(
        application=application, verifier=verifier, approve=False, reason="Unclear use."
    )
    assert RequesterApplication.objects.get().status == ApplicationStatus.REJECTED
    assert not requester_is_approved(user=unapproved_requester)


def test_a_requester_cannot_review_applications(requester, unapproved_requester):
    application = requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Studio",
        intended_use="Narrated product explainers with our own presenter.",
        accept_use_policy=True,
    )
    with pytest.raises(ApplicationError) as error:
        requester_application_review(
            application=application, verifier=requester, approve=True, reason="me"
        )
    assert error.value.status_code == 403
    assert AuditEvent.objects.filter(action="account.application_review", outcome="denied").exists()


def test_a_deactivated_requester_is_no_longer_approved(requester):
    requester.is_active = False
    requester.save()
    assert not requester_is_approved(user=requester)


def test_the_review_queue_is_for_verifiers_only(client, login, requester, verifier):
    client.force_login(requester)
    assert client.get("/accounts/applications/").status_code == 403
    login(client, verifier)  # staff need a verified second factor
    assert client.get("/accounts/applications/").status_code == 200


def test_the_login_page_is_served(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200 and "Sign in" in response.content.decode()


def test_demo_accounts_sign_in_with_their_printed_passwords(client):
    from accounts.services import demo_accounts_seed

    rows = demo_accounts_seed()
    assert {role for _, role, _ in rows} == {"requester", "owner", "verifier", "auditor", "admin"}
    for username, _, password in rows:
        assert client.login(username=username, password=password)
    assert requester_is_approved(user=User.objects.get(username="demo-requester"))
