"""Audit review fixtures: a signed-in auditor and a small log with the platform's action codes."""

from __future__ import annotations

import pytest


@pytest.fixture
def auditor_client(client, auditor, login):
    login(client, auditor)
    return client


@pytest.fixture
def review_log(db, owner, requester):
    """A log holding one of each action the reports read, from two actors and two IPs."""
    from audit.services import audit_checkpoint_write, audit_record
    from core.request_context import RequestContext, _current

    def record(ip: str, **fields):
        token = _current.set(RequestContext(request_id="req-fixture-1", client_ip=ip))
        try:
            return audit_record(**fields)
        finally:
            _current.reset(token)

    events = [
        record(
            "10.0.0.1",
            action="consent.granted",
            actor=owner,
            subject_type="grant",
            subject_id=1,
            details={"grant_id": 1, "identity_id": 7},
        ),
        record(
            "10.0.0.2",
            action="policy.decided",
            outcome="denied",
            actor=requester,
            subject_type="identity",
            subject_id=7,
            reason="No consent for this purpose.",
            details={
                "decision_id": "d1",
                "reasons": ["purpose_not_granted"],
                "policy_version": "1",
                "identity_id": 7,
                "requester_id": requester.pk,
                "purpose": "advertising",
            },
        ),
        record(
            "10.0.0.2",
            action="policy.decided",
            outcome="denied",
            actor=requester,
            subject_type="identity",
            subject_id=7,
            reason="expired; wrong purpose",
            details={
                "decision_id": "d2",
                "reasons": ["grant_expired", "purpose_not_granted"],
                "identity_id": 7,
                "requester_id": requester.pk,
            },
        ),
        record(
            "10.0.0.2",
            action="job.published",
            actor=requester,
            subject_type="job",
            subject_id=11,
            details={
                "record_id": 11,
                "identity_id": 7,
                "requester_id": requester.pk,
                "grant_id": 1,
            },
        ),
        record(
            "10.0.0.2",
            action="job.published",
            actor=requester,
            subject_type="job",
            subject_id=12,
            details={
                "record_id": 12,
                "identity_id": 7,
                "requester_id": requester.pk,
                "grant_id": 1,
            },
        ),
        record(
            "10.0.0.1",
            action="consent.revoked",
            actor=owner,
            subject_type="grant",
            subject_id=1,
            details={"grant_id": 1, "identity_id": 7, "jobs_cancelled": 1, "outputs_marked": 2},
        ),
        record(
            "10.0.0.9",
            action="detection.checked",
            subject_type="detection",
            subject_id=3,
            details={"upload_sha256": "ab" * 32, "verdict": "platform_output", "record_id": 11},
        ),
        record(
            "10.0.0.9",
            action="detection.checked",
            subject_type="detection",
            subject_id=4,
            details={"upload_sha256": "cd" * 32, "verdict": "not_found", "record_id": None},
        ),
    ]
    audit_checkpoint_write(force=True)
    return events


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' PBKDF2 hashing dominated these tests' run time; nothing here tests it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
