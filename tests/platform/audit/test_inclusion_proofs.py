"""Proofs built from cached subtree roots are exactly RFC 6962 proofs, and catch tampering."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from audit import merkle, triggers
from audit.models import AuditCheckpoint, AuditEvent, AuditSubtreeRoot
from audit.proofs import SubtreeRoots, inclusion_proof_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_of_700(settings):
    settings.DEBUG = True  # generate_audit_events refuses to run on a production-like setup
    call_command("generate_audit_events", 700, "--checkpoint-every", "300", stdout=None)
    return list(AuditEvent.objects.order_by("seq"))


def test_proofs_match_the_rfc_6962_reference_at_every_checkpoint(log_of_700):
    leaves = [bytes.fromhex(e.leaf_hash) for e in log_of_700]
    for checkpoint in AuditCheckpoint.objects.all():
        for seq in (0, 1, 255, 256, 299, checkpoint.tree_size - 1):
            if seq >= checkpoint.tree_size:
                continue
            proof = inclusion_proof_for(log_of_700[seq], checkpoint)
            expected = merkle.inclusion_proof(leaves[: checkpoint.tree_size], seq)
            assert proof.path == [p.hex() for p in expected]
            assert proof.verified


def test_complete_subtrees_are_cached_and_reused(log_of_700):
    checkpoint = AuditCheckpoint.objects.order_by("-tree_size").first()
    inclusion_proof_for(log_of_700[5], checkpoint)
    assert AuditSubtreeRoot.objects.filter(level=8).exists()
    leaves = [bytes.fromhex(e.leaf_hash) for e in log_of_700[256:512]]
    cached = AuditSubtreeRoot.objects.get(level=8, index=1)
    assert cached.root_hash == merkle.root(leaves).hex()


def test_an_altered_event_does_not_verify_against_the_signed_root(log_of_700):
    checkpoint = AuditCheckpoint.objects.order_by("-tree_size").first()
    triggers.remove(connection)
    try:
        AuditEvent.objects.filter(seq=42).update(reason="quietly rewritten")
    finally:
        triggers.install(connection)
    event = AuditEvent.objects.get(seq=42)
    assert not inclusion_proof_for(event, checkpoint, SubtreeRoots()).verified


def test_an_event_after_the_latest_checkpoint_has_no_proof_yet(log_of_700):
    from audit.selectors import audit_event_proof
    from audit.services import audit_record

    event = audit_record(action="test.event")
    assert audit_event_proof(event=event) is None


def test_the_periodic_check_warms_the_subtree_cache(log_of_700):
    from audit.services import audit_periodic_check

    AuditSubtreeRoot.objects.all().delete()
    audit_periodic_check()
    assert AuditSubtreeRoot.objects.filter(level=8, index=1).exists()
