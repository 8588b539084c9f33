"""The verifier's decision page (core.review), as the application review uses it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import ApplicationStatus
from accounts.services import requester_application_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(unapproved_requester):
    return requester_application_submit(
        requester=unapproved_requester,
        organisation_name="Campus Radio",
        intended_use="Weekly explainer videos presented by our consenting host.",
        accept_use_policy=True,
    )


def test_a_decision_with_a_reason_is_recorded_and_returns_to_the_queue(
    client, login, verifier, application
):
    login(client, verifier)
    url = reverse("accounts:application_review", args=[application.pk])
    response = client.post(url, {"decision": "approve", "reason": "Known station."})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:application_queue")
    application.refresh_from_db()
    assert (application.status, application.review_reason) == (
        ApplicationStatus.APPROVED,
        "Known station.",
    )


def test_a_refusal_from_the_service_shows_on_the_form(client, login, verifier, application):
    login(client, verifier)
    url = reverse("accounts:application_review", args=[application.pk])
    client.post(url, {"decision": "reject", "reason": "Unclear use."})
    again = client.post(url, {"decision": "approve", "reason": "Changed my mind."})
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == [
        "This application has already been reviewed."
    ]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
