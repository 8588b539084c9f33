"""Secrets never reach log lines."""

from __future__ import annotations

import logging

from core.log_filters import SecretScrubbingFilter, scrub


def test_password_token_and_cookie_values_are_redacted():
    line = 'login password=hunter2 token: abc123 "sessionid": "s3cr3t" Authorization=Token xyz'
    cleaned = scrub(line)
    for secret in ("hunter2", "abc123", "s3cr3t"):
        assert secret not in cleaned
    assert cleaned.count("[redacted]") >= 3


def test_the_filter_rewrites_records_and_drops_the_request():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "pw password=%s", ("hunter2",), None
    )
    record.request = object()
    assert SecretScrubbingFilter().filter(record)
    assert "hunter2" not in record.getMessage() and record.request is None
