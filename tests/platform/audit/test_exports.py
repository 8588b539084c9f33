"""Exports carry proofs and the signed checkpoint, and verify offline (CSV and JSON Lines)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from core.keys import keys_dir

pytestmark = pytest.mark.django_db


def _export(client, tmp_path, fmt: str, **filters):
    response = client.get("/audit/export/", {"format": fmt, **filters})
    assert response.status_code == 200
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(response.content)
    return response, path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_verifies_offline_with_the_public_key(
    auditor_client, review_log, tmp_path, fmt, capsys
):
    response, path = _export(auditor_client, tmp_path, fmt, action="policy.decided")
    assert response["X-Audit-Export-Count"] == "2"
    key_id = (
        json.loads(path.read_text().splitlines()[0])["checkpoint"]["key_id"]
        if fmt == "jsonl"
        else None
    )
    public_key = next(keys_dir().glob(f"audit-{key_id or ''}*.pub"))
    call_command("verify_audit_export", str(path), "--public-key", str(public_key))
    assert "export OK: 2 events" in capsys.readouterr().out


def test_exporting_is_itself_audited_and_covered_by_the_checkpoint(
    auditor_client, review_log, tmp_path
):
    _, path = _export(auditor_client, tmp_path, "jsonl", action="audit.exported")
    lines = path.read_text().splitlines()
    header, record = json.loads(lines[0]), json.loads(lines[1])
    assert (
        record["action"] == "audit.exported" and record["seq"] < header["checkpoint"]["tree_size"]
    )
    assert AuditEvent.objects.filter(action="audit.exported").count() == 1


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_edited_export_fails_verification(auditor_client, review_log, tmp_path, fmt):
    _, path = _export(auditor_client, tmp_path, fmt, action="consent.revoked")
    marked = '""outputs_marked"":2' if fmt == "csv" else '"outputs_marked": 2'
    original = path.read_text()
    assert marked in original
    path.write_text(original.replace(marked, marked[:-1] + "0"))
    with pytest.raises(CommandError, match=f"event {review_log[5].seq} does not verify"):
        call_command("verify_audit_export", str(path))


def test_a_forged_checkpoint_signature_fails_verification(auditor_client, review_log, tmp_path):
    _, path = _export(auditor_client, tmp_path, "jsonl")
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["checkpoint"]["tree_size"] += 1
    path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(CommandError, match="signature is invalid"):
        call_command("verify_audit_export", str(path))


def test_csv_cells_that_spreadsheets_would_run_are_escaped_and_still_verify(
    auditor_client, tmp_path, capsys
):
    from audit.services import audit_record

    audit_record(action="test.injection", reason='=HYPERLINK("http://evil.example","x")')
    _, path = _export(auditor_client, tmp_path, "csv", action="test.injection")
    assert "'=HYPERLINK" in path.read_text()
    call_command("verify_audit_export", str(path))
    assert "export OK: 1 events" in capsys.readouterr().out


def test_garbage_is_reported_not_raised(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="export FAILED"):
        call_command("verify_audit_export", str(path))
