"""Schemathesis fuzzes every operation of /api/schema/ on a live server: no 5xx, ever.

Run with one worker (two crashed on this Python): signed out, then as an
approved requester with an API token, so both the refusals and the real handlers are fuzzed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.servers]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _run(schema: Path, url: str, seconds: int, *headers: str) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS),
        "run",
        str(schema),
        "--url",
        url,
        "--request-timeout",
        "30",
        "--max-time",
        str(seconds),
        "--workers",
        "1",
        "--checks",
        "not_a_server_error",
        "--no-color",
        "--generation-database",
        "none",
    ]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )


@pytest.fixture
def tokens(requester, owner):
    """API tokens for an approved requester (issued by the API) and an owner (made here: the
    API issues tokens to requesters only, but the owner endpoints deserve fuzzing too)."""
    from knox.models import AuthToken

    return [AuthToken.objects.create(user=user)[1] for user in (requester, owner)]


def test_no_operation_answers_5xx_signed_out_or_with_a_token(live_server, tokens, tmp_path):
    # The schema is fetched from the live /api/schema/ once (generating it takes over
    # schemathesis's 10 s loading timeout on this shared 2-core machine), then fuzzed.
    schema = tmp_path / "schema.yaml"
    schema_url = f"{live_server.url}/api/schema/"  # http on loopback, never a file: URL
    with urllib.request.urlopen(schema_url, timeout=120) as response:  # noqa: S310
        assert response.status == 200
        schema.write_bytes(response.read())
    runs = [_run(schema, live_server.url, 10)]
    runs += [_run(schema, live_server.url, 20, f"Authorization: Token {t}") for t in tokens]
    for run in runs:
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "Fuzzing" in run.stdout and "failed" not in run.stdout.split("WARNINGS")[0]
