"""Live sessions are generations like any other: the portrait owner sees them in their list of
generations (page and API), the requester among their videos, and the auditor's reports count
them. A revoked or failed one is listed with its state and nothing to download."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.reports import audit_report
from live.models import LiveStatus

from .test_live_session import _run

pytestmark = pytest.mark.django_db(transaction=True)


def _owner_sees(owner, identity) -> tuple[str, dict]:
    """The owner's generations page (its HTML) and API (rows by job id)."""
    api = APIClient()
    api.force_login(owner)  # the portal page is a Django view: a session, not DRF's override
    page = api.get(reverse("likeness:uses", args=[identity.pk]))
    assert page.status_code == 200
    rows = api.get(reverse("api-likeness-uses", args=[identity.pk]))
    assert rows.status_code == 200
    return page.content.decode(), {row["job_id"]: row for row in rows.json()}


def _requester_sees(requester, job_id: int) -> dict:
    api = APIClient()
    api.force_authenticate(requester)
    response = api.get(reverse("api-job-status", args=[job_id]))
    assert response.status_code == 200
    return response.json()


@pytest.mark.slow
def test_a_published_session_is_among_the_owners_generations_and_in_the_auditors_report(
    live_server, live_node, live_grant, identity, owner, requester, api_token, live_speech_wav
):
    result = _run(live_server, api_token, identity, live_speech_wav)
    record_id = result["record_id"]
    assert result["status"] == "ended" and record_id is not None

    page, rows = _owner_sees(owner, identity)
    assert rows[record_id]["status"] == "Done" and rows[record_id]["published_at"] is not None
    assert f"<td>{record_id}</td>" in page and "published" in page
    video = _requester_sees(requester, record_id)
    assert video["record_id"] == record_id
    assert video["download_url"] is None  # this grant does not allow downloads

    report = audit_report()
    live = report.live_sessions
    assert (live.started, live.ended, live.terminated, live.failed) == (1, 1, 0, 0)
    assert 4.0 < live.seconds_total < 60.0  # ~6 s of speech, plus setup and the stop
    assert dict(report.generations_by_identity) == {str(identity.pk): 1}
    assert report.as_dict()["live_sessions"]["ended"] == 1


def _started_session(requester, identity):
    """A session allowed, ticketed and admitted by the node's gate (no media needed)."""
    from live.services import live_session_admit, live_session_create

    session = live_session_create(
        requester=requester, identity=identity, purpose="personal", controls={}
    )
    live_session_admit(session_id=str(session.public_id), ticket=session.ticket, node_name="n")
    return session


def test_a_session_ended_by_revocation_is_listed_as_cancelled_with_nothing_to_download(
    live_grant, identity, owner, requester
):
    from consent.services import consent_revoke
    from live.endings import live_session_check, live_session_terminate

    session = _started_session(requester, identity)
    consent_revoke(grant=live_grant, owner=owner)
    reason = live_session_check(session_id=str(session.public_id), frames_sent=40)
    live_session_terminate(session_id=str(session.public_id), reason=reason, frames=40, timings={})

    page, rows = _owner_sees(owner, identity)
    assert rows[session.job_id]["status"] == "Cancelled"
    assert rows[session.job_id]["published_at"] is None
    assert f"<td>{session.job_id}</td>" in page and "Cancelled" in page
    video = _requester_sees(requester, session.job_id)
    assert (video["record_id"], video["download_url"]) == (None, None)
    live = audit_report().live_sessions
    assert (live.started, live.ended, live.terminated) == (1, 0, 1)


def test_a_failed_session_is_listed_as_failed_and_counted(live_grant, identity, owner, requester):
    from live.endings import live_session_fail

    session = _started_session(requester, identity)
    live_session_fail(
        session_id=str(session.public_id), code="recording_mismatch", reason="Not the same."
    )

    session.refresh_from_db()
    assert session.status == LiveStatus.FAILED
    _, rows = _owner_sees(owner, identity)
    assert (rows[session.job_id]["status"], rows[session.job_id]["published_at"]) == (
        "Failed",
        None,
    )
    video = _requester_sees(requester, session.job_id)
    assert (video["record_id"], video["download_url"]) == (None, None)
    live = audit_report().live_sessions
    assert (live.started, live.failed, live.seconds_total) == (1, 1, 0.0)
