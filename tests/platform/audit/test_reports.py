"""Reports are computed from the log's action codes alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.reports import audit_report

pytestmark = pytest.mark.django_db


def test_denials_are_counted_per_policy_reason_code(review_log):
    report = audit_report()
    assert dict(report.denials_by_reason) == {"purpose_not_granted": 2, "grant_expired": 1}
    assert dict(report.denials_by_action) == {"policy.decided": 2}


def test_generations_are_counted_per_identity_and_requester(review_log, requester):
    report = audit_report()
    assert dict(report.generations_by_identity) == {"7": 2}
    assert dict(report.generations_by_requester) == {str(requester.pk): 2}


def test_revocations_report_their_effect(review_log, owner):
    report = audit_report()
    assert [(r.grant_id, r.jobs_cancelled, r.outputs_marked) for r in report.revocations] == [
        ("1", 1, 2)
    ]
    assert (report.jobs_cancelled_total, report.outputs_marked_total) == (1, 2)
    assert report.revocations[0].actor_label == owner.username


def test_detections_are_counted_by_verdict(review_log):
    assert dict(audit_report().detections_by_verdict) == {"platform_output": 1, "not_found": 1}


def test_a_time_window_limits_every_report(review_log):
    report = audit_report(since=review_log[-1].created_at + timedelta(seconds=1))
    assert not report.denials_by_reason and not report.detections_by_verdict
