"""`manage.py detect FILE [--json]`: a verdict for any readable file, one clear line otherwise."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

CLI_KEYS = [
    "verdict",
    "record_id",
    "payload",
    "watermark_confidence",
    "false_positive_probability",
    "c2pa_state",
    "fingerprint_distance",
    "protected_identity",
    "seconds",
]


def test_its_last_json_line_has_exactly_the_issue_keys(unrelated_image):
    out = io.StringIO()
    call_command("detect", str(unrelated_image), "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert list(last) == CLI_KEYS
    assert last["verdict"] == "none"
    assert last["record_id"] is None


@pytest.mark.slow
def test_it_reports_the_record_of_a_platform_output(registered_output, attacked_copies):
    out = io.StringIO()
    call_command("detect", str(attacked_copies["crop90"]), "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert last["verdict"] == "platform"
    assert last["record_id"] == registered_output.pk
    assert last["false_positive_probability"] <= 1e-9


def test_it_prints_a_readable_verdict_without_json(unrelated_image):
    out = io.StringIO()
    call_command("detect", str(unrelated_image), stdout=out)
    assert out.getvalue().startswith("verdict: none (No platform provenance found)")


def test_it_fails_with_one_line_for_an_unreadable_file(tmp_path):
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(CommandError) as raised:
        call_command("detect", str(junk))
    assert "\n" not in str(raised.value)
    assert "not a supported image or video" in str(raised.value)


@pytest.mark.slow
def test_it_exits_non_zero_from_the_shell_for_a_missing_file(tmp_path):
    repo = Path(__file__).resolve().parents[3]
    completed = subprocess.run(
        [sys.executable, "manage.py", "detect", str(tmp_path / "nope.mp4"), "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "cannot check" in completed.stderr
