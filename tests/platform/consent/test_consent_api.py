"""The API mirrors the journey: identity, portrait, verification, consent, receipt, revoke."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_an_owner_creates_and_lists_identities(api, owner):
    api.force_authenticate(owner)
    created = api.post("/api/v1/identities", {"display_name": "Olivia Owner"}, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "unverified"
    assert [i["id"] for i in api.get("/api/v1/identities").json()] == [created.json()["id"]]


def test_a_portrait_without_a_face_is_a_json_error(api, owner, faceless_png):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api.force_authenticate(owner)
    identity = api.post("/api/v1/identities", {"display_name": "O"}, format="json").json()
    response = api.post(
        f"/api/v1/identities/{identity['id']}/portraits",
        {"portrait": SimpleUploadedFile("me.png", faceless_png)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_face"


def test_verification_start_returns_statement_and_code(api, owner, enrolled_identity):
    api.force_authenticate(owner)
    response = api.post(f"/api/v1/identities/{enrolled_identity.pk}/verifications")
    assert response.status_code == 201
    body = response.json()
    assert body["code"] and " ".join(body["code"]) in body["statement"]


def test_grant_receipt_and_revoke(api, owner, verified_identity, requester):
    api.force_authenticate(owner)
    created = api.post(
        f"/api/v1/identities/{verified_identity.pk}/consents",
        {
            "requesters": [requester.username],
            "purposes": ["education"],
            "max_clip_seconds": 15,
            "allowed_emotions": ["neutral"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    grant = created.json()
    receipt = api.get(f"/api/v1/consents/{grant['id']}/receipt").json()
    assert receipt["consentReceiptID"] == grant["receipt_id"]
    revoked = api.post(f"/api/v1/consents/{grant['id']}/revoke")
    assert revoked.json()["state"] == "revoked"
    again = api.post(f"/api/v1/consents/{grant['id']}/revoke")
    assert again.json()["error"]["code"] == "already_revoked"


def test_someone_elses_consent_is_not_found(api, other_owner, active_grant):
    api.force_authenticate(other_owner)
    assert api.get(f"/api/v1/consents/{active_grant.pk}").status_code == 404


def test_only_verifiers_see_the_queue(api, owner, verifier):
    api.force_authenticate(owner)
    assert api.get("/api/v1/verifications/pending").status_code == 403
    api.force_authenticate(verifier)
    assert api.get("/api/v1/verifications/pending").json() == []


def test_the_owner_switches_likeness_protection_by_api(api, owner, verified_identity):
    api.force_authenticate(owner)
    url = f"/api/v1/identities/{verified_identity.pk}"
    response = api.patch(url, {"likeness_protection": False}, format="json")
    assert response.json()["likeness_protection"] is False


def test_list_and_create_share_a_url_and_the_schema_documents_both(api, owner):
    """One class per operation, joined on one URL: the others' methods are still refused."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/identities", "/api/v1/identities/{id}/consents"):
        assert {"get", "post"} <= set(paths[path])
    api.force_authenticate(owner)
    refused = api.put("/api/v1/identities", {}, format="json")
    assert refused.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in refused["Allow"].split(",")}
