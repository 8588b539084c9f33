"""verify_audit_log names the first bad event for every class of tampering."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import triggers
from audit.models import AuditCheckpoint, checkpoint_message
from audit.services import audit_checkpoint_write, audit_record
from audit.verification import verify_audit_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_log():
    """20 events, a checkpoint over them, then the append-only triggers dropped (as an attacker
    with database access would)."""
    for n in range(20):
        audit_record(action="consent.granted", subject_type="grant", subject_id=n, reason="ok")
    audit_checkpoint_write(force=True)
    triggers.remove(connection)


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _first_problem() -> str:
    report = verify_audit_log()
    assert not report.ok
    return report.problems[0]


def test_an_edited_event_is_named(signed_log):
    _sql("UPDATE audit_auditevent SET reason = %s WHERE seq = 7", "nothing to see")
    assert _first_problem() == "event 7 was altered: its content does not match its leaf hash"


def test_a_deleted_event_is_named(signed_log):
    _sql("DELETE FROM audit_auditevent WHERE seq = 4")
    assert _first_problem().startswith("event 4 is missing (deleted)")


def test_reordered_events_are_named(signed_log):
    _sql("UPDATE audit_auditevent SET seq = 1000 WHERE seq = 5")
    _sql("UPDATE audit_auditevent SET seq = 5 WHERE seq = 6")
    _sql("UPDATE audit_auditevent SET seq = 6 WHERE seq = 1000")
    assert _first_problem() == "event 5 was altered: its content does not match its leaf hash"


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_checkpoint(signed_log):
    from audit import merkle
    from audit.models import AuditEvent

    event = AuditEvent.objects.get(seq=3)
    event.reason = "forged"
    forged_leaf = merkle.leaf_hash(event.canonical_bytes()).hex()
    _sql(
        "UPDATE audit_auditevent SET reason = %s, leaf_hash = %s WHERE seq = 3",
        "forged",
        forged_leaf,
    )
    problem = _first_problem()
    assert problem.startswith("checkpoint at size 20 does not match the log")


def test_a_forged_checkpoint_is_named(signed_log):
    checkpoint = AuditCheckpoint.objects.get()
    _sql("UPDATE audit_auditcheckpoint SET root_hash = %s", "ab" * 32)
    assert _first_problem() == (
        f"checkpoint at size 20 has an invalid signature (forged or re-signed; key "
        f"{checkpoint.key_id})"
    )


def test_a_checkpoint_re_signed_with_another_key_is_named(signed_log):
    checkpoint = AuditCheckpoint.objects.get()
    attacker = Ed25519PrivateKey.generate()
    signature = base64.b64encode(
        attacker.sign(
            checkpoint_message(
                checkpoint.tree_size, checkpoint.root_hash, checkpoint.created_at, checkpoint.key_id
            )
        )
    ).decode()
    _sql("UPDATE audit_auditcheckpoint SET signature = %s", signature)
    assert _first_problem().startswith("checkpoint at size 20 has an invalid signature")


def test_the_command_exits_non_zero_naming_the_event(signed_log):
    _sql("UPDATE audit_auditevent SET action = %s WHERE seq = 2", "consent.revoked")
    with pytest.raises(CommandError, match="event 2 was altered"):
        call_command("verify_audit_log")
