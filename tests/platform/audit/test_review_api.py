"""The audit API is for auditors and admins with a verified second factor."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_an_auditor_lists_events_and_pages_by_cursor(auditor_client, review_log):
    body = auditor_client.get("/api/v1/audit/events", {"outcome": "denied"}).json()
    assert [e["seq"] for e in body["events"]] == [review_log[2].seq, review_log[1].seq] and body[
        "next_before"
    ] is None


def test_an_event_comes_with_a_verified_proof_and_its_checkpoint(auditor_client, review_log):
    body = auditor_client.get(f"/api/v1/audit/events/{review_log[3].seq}").json()
    assert body["proof"]["verified"] is True
    assert body["checkpoint"]["tree_size"] == body["proof"]["tree_size"] == review_log[-1].seq + 1


def test_the_integrity_and_report_endpoints_answer(auditor_client, review_log):
    assert (
        auditor_client.get("/api/v1/audit/integrity").json()["log_size"] == review_log[-1].seq + 1
    )
    report = auditor_client.get("/api/v1/audit/reports").json()
    assert report["detections_by_verdict"] == {"platform_output": 1, "not_found": 1}


def test_bad_filters_are_a_400_with_the_error_body(auditor_client, review_log):
    response = auditor_client.get("/api/v1/audit/events", {"client_ip": "nope"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_a_requester_is_refused(client, login, requester, review_log):
    login(client, requester)
    assert client.get("/api/v1/audit/events").status_code == 403


def test_an_auditor_without_a_verified_code_is_refused(client, auditor, review_log):
    client.force_login(auditor)
    response = client.get("/api/v1/audit/events")
    assert response.status_code == 403 and response.json()["error"]["code"] == "otp_required"
