"""Audit events: written with the action, append-only in the database, checkpointed and signed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.utils import DatabaseError

from audit import merkle
from audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from audit.services import audit_checkpoint_write, audit_record

pytestmark = pytest.mark.django_db


def test_an_event_rolls_back_with_the_action_it_records():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="consent.granted", subject_type="grant", subject_id=1)
        raise RuntimeError("the action failed")
    assert AuditEvent.objects.count() == 0
    assert AuditLogHead.objects.get(pk=1).size == 0


def test_events_get_gapless_sequence_numbers_and_a_running_root():
    events = [audit_record(action="test.event", details={"n": n}) for n in range(5)]
    assert [e.seq for e in events] == [0, 1, 2, 3, 4]
    head = AuditLogHead.objects.get(pk=1)
    leaves = [bytes.fromhex(e.leaf_hash) for e in events]
    assert merkle.MerkleFrontier.from_hex(head.size, head.frontier).root() == merkle.root(leaves)


def test_events_record_actor_subject_and_request_context(client, owner):
    client.force_login(owner)
    client.get("/", HTTP_X_REQUEST_ID="req-12345678")
    event = audit_record(action="test.event", actor=owner, subject_type="user", subject_id=7)
    assert (event.actor_id, event.actor_label) == (owner.pk, "olivia")
    assert (event.subject_type, event.subject_id) == ("user", "7")
    assert event.request_id == ""  # outside a request the context is empty, not stale


def test_the_database_refuses_to_update_an_event():
    audit_record(action="test.event")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AuditEvent.objects.filter(seq=0).update(reason="rewritten")


def test_the_database_refuses_to_delete_an_event():
    audit_record(action="test.event")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AuditEvent.objects.filter(seq=0).delete()


def test_the_database_refuses_to_change_a_checkpoint():
    audit_record(action="test.event")
    audit_checkpoint_write(force=True)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AuditCheckpoint.objects.update(root_hash="00" * 32)


def test_a_checkpoint_is_signed_every_hundred_events(settings):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 100
    for n in range(230):
        audit_record(action="test.event", details={"n": n})
    assert list(AuditCheckpoint.objects.values_list("tree_size", flat=True)) == [100, 200]


def test_a_checkpoint_is_not_written_before_it_is_due():
    audit_record(action="test.event")
    audit_checkpoint_write(force=True)
    audit_record(action="test.event")
    assert audit_checkpoint_write() is None  # one event, seconds later: not yet due
    assert AuditCheckpoint.objects.count() == 1


def test_a_fresh_log_verifies(capsys):
    for n in range(12):
        audit_record(action="test.event", details={"n": n})
    audit_checkpoint_write(force=True)
    call_command("verify_audit_log")
    assert "audit log OK: 12 events, 1 signed checkpoints" in capsys.readouterr().out
