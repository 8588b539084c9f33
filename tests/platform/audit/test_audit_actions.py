"""Audit action codes come from one enum, grouped by domain."""

from __future__ import annotations

import re
from pathlib import Path

from audit.actions import AuditAction

PLATFORM = Path(__file__).resolve().parents[3] / "platform"


def test_every_code_is_domain_dot_verb_and_unique():
    values = [a.value for a in AuditAction]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", v) for v in values)
    assert AuditAction.CONSENT_REVOKED.domain == "consent"


def test_one_domain_for_account_events():
    assert not [a for a in AuditAction if a.domain == "requester"]
    assert AuditAction.ACCOUNT_APPLICATION_APPROVED == "account.application_approved"


def test_the_platform_records_no_free_string_action():
    literal = re.compile(r"""\baction\s*=\s*["'][a-z]+\.""")
    offenders = [
        f"{path.relative_to(PLATFORM)}:{n}"
        for path in PLATFORM.rglob("*.py")
        if "migrations" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []
