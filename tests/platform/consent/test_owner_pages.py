"""The owner's and verifier's portal pages: access, enrolment messages, receipts, CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consent.models import Identity
from consent.selectors import receipt_for_grant

pytestmark = pytest.mark.django_db


def test_an_owner_adds_an_identity(client, owner):
    client.force_login(owner)
    response = client.post(reverse("consent:identity_list"), {"display_name": "Olivia Owner"})
    identity = Identity.objects.get(owner=owner)
    assert response.url == reverse("consent:identity_detail", args=[identity.pk])


def test_a_requester_cannot_open_the_owner_pages(client, requester):
    client.force_login(requester)
    assert client.get(reverse("consent:identity_list")).status_code == 403


def test_another_owner_gets_not_found(client, other_owner, enrolled_identity):
    client.force_login(other_owner)
    url = reverse("consent:identity_detail", args=[enrolled_identity.pk])
    assert client.get(url).status_code == 404


def test_a_faceless_portrait_is_refused_with_a_clear_message(client, owner, faceless_png):
    client.force_login(owner)
    client.post(reverse("consent:identity_list"), {"display_name": "Olivia Owner"})
    identity = Identity.objects.get(owner=owner)
    response = client.post(
        reverse("consent:portrait_enrol", args=[identity.pk]),
        {"portrait": SimpleUploadedFile("me.png", faceless_png, content_type="image/png")},
        follow=True,
    )
    assert "could not find a face" in response.content.decode()


def test_the_portrait_image_is_served_only_to_owner_and_verifiers(
    client, login, enrolled_identity, owner, verifier, requester
):
    url = reverse("consent:portrait_image", args=[enrolled_identity.portraits.get().pk])
    client.force_login(requester)
    assert client.get(url).status_code == 403
    login(client, verifier)
    assert client.get(url).status_code == 200
    client.force_login(owner)
    assert client.get(url)["Content-Type"] == "image/png"


def test_the_statement_page_shows_the_code(client, enrolled_identity, owner):
    client.force_login(owner)
    url = reverse("consent:verification_page", args=[enrolled_identity.pk])
    page = client.post(url, follow=True).content.decode()
    verification = enrolled_identity.verifications.get()
    assert verification.code in page
    assert "consent/record.js" in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_the_receipt_page_and_download(client, active_grant, owner):
    client.force_login(owner)
    page = client.get(reverse("consent:grant_detail", args=[active_grant.pk])).content.decode()
    receipt = receipt_for_grant(grant=active_grant)
    assert str(receipt.receipt_id) in page
    assert reverse("consent:grant_revoke", args=[active_grant.pk]) in page
    download = client.get(reverse("consent:receipt_download", args=[receipt.receipt_id]))
    assert "attachment" in download["Content-Disposition"]
    assert json.loads(download.content) == receipt.document


def test_one_click_revocation(client, active_grant, owner):
    client.force_login(owner)
    response = client.post(reverse("consent:grant_revoke", args=[active_grant.pk]), follow=True)
    active_grant.refresh_from_db()
    assert active_grant.revoked_at is not None
    assert "Consent withdrawn" in response.content.decode()


def test_the_grant_form_creates_a_grant(client, verified_identity, owner, requester):
    client.force_login(owner)
    response = client.post(
        reverse("consent:grant_create", args=[verified_identity.pk]),
        {
            "requesters": requester.username,
            "purposes": ["news_explainer", "education"],
            "max_clip_seconds": 20,
            "allowed_emotions": ["neutral", "happy"],
            "expires_on": "2027-01-31",
        },
    )
    grant = verified_identity.grants.get()
    assert response.url == reverse("consent:grant_detail", args=[grant.pk])
    assert grant.purposes == ["education", "news_explainer"]
    assert list(grant.requesters.all()) == [requester]


def test_the_generation_list_downloads_as_csv(client, active_grant, owner, requester):
    from jobs.models import GenerationJob

    GenerationJob.objects.create(
        requester=requester,
        identity=active_grant.identity,
        grant=active_grant,
        purpose="news_explainer",
        audio_file="a.wav",
        audio_sha256="0" * 64,
        portrait_file="p.png",
        portrait_sha256="1" * 64,
        decision_id="d" * 32,
    )
    client.force_login(owner)
    url = reverse("likeness:uses_csv", args=[active_grant.identity.pk])
    rows = list(csv.DictReader(io.StringIO(client.get(url).content.decode())))
    assert len(rows) == 1
    assert rows[0]["requester"] == "Riley"
    assert rows[0]["organisation"] == "Newsroom"
    assert rows[0]["purpose"] == "News and current-affairs explainers"
    assert rows[0]["status"] == "Queued"


def test_the_verifier_queue_lists_clips_waiting(
    client, login, verifier, enrolled_identity, owner, astronaut_clip
):
    from consent.verification import verification_start
    from tests.platform.consent.spoken_clips import pin_code, submit_recording

    verification = pin_code(verification_start(identity=enrolled_identity, owner=owner))
    submit_recording(verification, owner, astronaut_clip)
    login(client, verifier)
    queue = client.get(reverse("consent:verification_queue")).content.decode()
    assert reverse("consent:verification_review", args=[verification.pk]) in queue
    review = client.get(reverse("consent:verification_review", args=[verification.pk]))
    page = review.content.decode()
    assert verification.code in page and "Match distance" in page


def test_the_owner_switches_likeness_protection_off_and_on(client, verified_identity, owner):
    from consent.selectors import protected_identities

    client.force_login(owner)
    url = reverse("consent:likeness_protection", args=[verified_identity.pk])
    client.post(url)
    assert protected_identities() == []
    client.post(url, {"enabled": "on"})
    assert [identity for identity, _ in protected_identities()] == [verified_identity]
