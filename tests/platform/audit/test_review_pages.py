"""The auditor's pages: the log with its integrity panel, an event with its proof, reports."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_log_page_lists_filtered_events_and_the_integrity_panel(auditor_client, review_log):
    response = auditor_client.get("/audit/", {"action": "detection.checked"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<tr class="outcome-') == 2
    assert "Latest signed checkpoint" in page and f"size {review_log[-1].seq + 1}" in page


def test_an_invalid_filter_is_a_form_error_not_a_crash(auditor_client, review_log):
    response = auditor_client.get("/audit/", {"client_ip": "not-an-ip", "since": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid" in response.content.decode()


def test_an_event_page_shows_its_verified_inclusion_proof(auditor_client, review_log):
    response = auditor_client.get(f"/audit/events/{review_log[3].seq}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Verified:" in page and review_log[3].leaf_hash in page


def test_a_missing_event_is_404(auditor_client, review_log):
    assert auditor_client.get("/audit/events/999999/").status_code == 404


@pytest.mark.parametrize("persona", ["owner", "requester", "verifier"])
def test_other_roles_cannot_read_the_log(client, login, request, persona, review_log):
    login(client, request.getfixturevalue(persona))
    for url in ("/audit/", "/audit/events/0/", "/audit/export/?format=jsonl", "/audit/reports/"):
        assert client.get(url).status_code == 403


def test_a_visitor_is_sent_to_sign_in(client, review_log):
    response = client.get("/audit/events/0/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_verify_now_records_the_result_for_the_panel(auditor_client, review_log):
    response = auditor_client.post("/audit/verify/", follow=True)
    assert "audit log OK" in response.content.decode()
    assert 'id="verified-state"><span class="ok">yes' in response.content.decode()


def test_the_reports_page_renders_every_report(auditor_client, review_log):
    page = auditor_client.get("/audit/reports/").content.decode()
    for heading in ("Denials by reason", "Generations", "Revocations", "Detections by verdict"):
        assert heading in page
    assert "purpose_not_granted" in page
