"""The periodic task signs due checkpoints, re-verifies the log and raises an alert on failure."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import triggers
from audit.models import AuditCheckpoint, AuditEvent, AuditLogHead
from audit.services import audit_record
from audit.tasks import audit_checkpoint_and_verify

pytestmark = pytest.mark.django_db


def test_the_task_signs_a_checkpoint_and_records_a_good_verification():
    audit_record(action="test.event")
    assert audit_checkpoint_and_verify() is True
    head = AuditLogHead.objects.get(pk=1)
    assert AuditCheckpoint.objects.filter(tree_size=1).exists()
    assert head.last_verified_ok is True and head.last_verified_at is not None


def test_a_tampered_log_raises_an_alert_event_and_fails_the_cron_command():
    for n in range(3):
        audit_record(action="test.event", details={"n": n})
    call_command("audit_maintenance")
    triggers.remove(connection)
    try:
        AuditEvent.objects.filter(seq=1).update(details={"n": 99})
    finally:
        triggers.install(connection)
    with pytest.raises(CommandError, match="FAILED"):
        call_command("audit_maintenance")
    alert = AuditEvent.objects.get(action="audit.verification_failed")
    assert alert.outcome == "error" and "event 1 was altered" in alert.reason
    assert AuditLogHead.objects.get(pk=1).last_verified_ok is False


def test_the_task_is_scheduled_by_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint-and-verify"]
    assert entry["task"] == "audit.checkpoint_and_verify" and entry["schedule"] <= 300
