"""Reads about detections, likeness alerts, and the audit trail of an output record."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from audit.actions import AuditAction
from audit.models import AuditEvent
from jobs.models import OutputRecord

from .models import Detection, LikenessAlert


def detection_get(*, detection_id) -> Detection | None:
    """The detection with this id, or None (also for a malformed id)."""
    try:
        key = uuid.UUID(str(detection_id))
    except ValueError:
        return None
    return Detection.objects.select_related("record").filter(pk=key).first()


def detection_list_recent(limit: int = 100) -> QuerySet[Detection]:
    return Detection.objects.select_related("record")[:limit]


def likeness_alerts_for_owner(*, owner) -> QuerySet[LikenessAlert]:
    return LikenessAlert.objects.filter(owner=owner).select_related("identity", "detection")


def record_audit_trail(*, record: OutputRecord) -> QuerySet[AuditEvent]:
    """Every audit event about this output: its job, the policy decision that allowed it, its
    grant's consent events, and every detection that pointed at it."""
    job_id = record.pk
    condition = (
        Q(subject_type="job", subject_id=str(job_id))
        | Q(action=AuditAction.POLICY_DECIDED, details__decision_id=record.decision_id)
        | Q(action__startswith="consent.", details__grant_id=record.grant_id)
        | Q(action=AuditAction.DETECTION_CHECKED, details__record_id=job_id)
    )
    return AuditEvent.objects.filter(condition).order_by("seq")


def record_consent_status(record: OutputRecord) -> str:
    """active, revoked, superseded or expired: the output's consent as it stands now."""
    if record.revoked_at is not None:
        return "revoked"
    return record.grant.state
