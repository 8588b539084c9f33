"""Reads of the audit log for review: filtered keyset pages, one event with its proof, integrity.

Pagination is by seq (keyset), never by OFFSET or a total COUNT, so page 20,000 of a million
events costs what page 1 costs. A time range is turned into a seq range first: created_at never
decreases along seq (the verifier checks it), so every filter stays an index range on (x, seq).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from .models import AuditCheckpoint, AuditEvent, AuditLogHead
from .proofs import InclusionProof, inclusion_proof_for, latest_checkpoint_covering

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor searches by (NIST AU-7). Empty fields do not filter."""

    actor: str = ""  # a user id (digits) or an exact username / label ("system", "anonymous")
    subject_type: str = ""
    subject_id: str = ""
    action: str = ""  # exact code ("consent.revoked") or a domain prefix ending in "." ("consent.")
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None
    client_ip: str = ""

    def as_query(self) -> dict[str, str]:
        """The filter as URL query parameters (for page links and exports)."""
        values = {
            "actor": self.actor,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "action": self.action,
            "outcome": self.outcome,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "client_ip": self.client_ip,
        }
        return {k: v for k, v in values.items() if v}


@dataclass
class AuditPage:
    events: list[AuditEvent]
    newer_than: int | None  # pass as `after` to get the newer page, None on the first page
    older_than: int | None  # pass as `before` to get the next (older) page, None on the last
    filters: AuditFilter = field(default_factory=AuditFilter)


@dataclass(frozen=True)
class IntegrityStatus:
    """The integrity panel: the latest signed checkpoint and the last whole-log verification."""

    log_size: int
    checkpoint: AuditCheckpoint | None
    events_since_checkpoint: int
    last_verified_at: datetime | None
    last_verified_ok: bool | None


def _seq_bounds(filters: AuditFilter) -> tuple[int | None, int | None]:
    """[low, high) seq range matching the time range, read from the created_at index."""
    low = high = None
    if filters.since is not None:
        first = (
            AuditEvent.objects.filter(created_at__gte=filters.since)
            .order_by("created_at", "seq")
            .values_list("seq", flat=True)
            .first()
        )
        low = first if first is not None else -1
    if filters.until is not None:
        last = (
            AuditEvent.objects.filter(created_at__lte=filters.until)
            .order_by("-created_at", "-seq")
            .values_list("seq", flat=True)
            .first()
        )
        high = last + 1 if last is not None else 0
    return low, high


def audit_event_queryset(*, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Events matching `filters`, unordered (callers order by seq)."""
    qs = AuditEvent.objects.all()
    if filters.actor:
        actor = filters.actor.strip()
        qs = qs.filter(actor_id=int(actor)) if actor.isdigit() else qs.filter(actor_label=actor)
    if filters.subject_type:
        qs = qs.filter(subject_type=filters.subject_type)
    if filters.subject_id:
        qs = qs.filter(subject_id=filters.subject_id)
    if filters.action:
        if filters.action.endswith("."):
            qs = qs.filter(action__startswith=filters.action)
        else:
            qs = qs.filter(action=filters.action)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.client_ip:
        qs = qs.filter(client_ip=filters.client_ip)
    low, high = _seq_bounds(filters)
    if low is not None:
        qs = qs.filter(seq__gte=low) if low >= 0 else qs.none()
    if high is not None:
        qs = qs.filter(seq__lt=high)
    return qs


def audit_event_page(
    *,
    filters: AuditFilter,
    before: int | None = None,
    after: int | None = None,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """One page of matching events, newest first: older than `before`, or newer than `after`."""
    qs = audit_event_queryset(filters=filters)
    if after is not None:
        # Newer page: read upwards from `after`, then show it newest first.
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: page_size + 1])
        has_newer = len(rows) > page_size
        events = list(reversed(rows[:page_size]))
        newer_than = events[0].seq if has_newer and events else None
        older_than = events[-1].seq if events else None
        return AuditPage(events, newer_than, older_than, filters)
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: page_size + 1])
    events = rows[:page_size]
    older_than = events[-1].seq if len(rows) > page_size else None
    newer_than = events[0].seq if before is not None and events else None
    return AuditPage(events, newer_than, older_than, filters)


def audit_event_get(*, seq: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(seq=seq).first()


def audit_event_proof(*, event: AuditEvent) -> InclusionProof | None:
    """The event's inclusion proof against the latest checkpoint covering it (None until one
    is signed: checkpoints follow every 100 events or 5 minutes)."""
    checkpoint = latest_checkpoint_covering(event.seq)
    if checkpoint is None:
        return None
    return inclusion_proof_for(event, checkpoint)


def audit_integrity_status() -> IntegrityStatus:
    head = AuditLogHead.objects.filter(pk=1).first()
    checkpoint = AuditCheckpoint.objects.order_by("-tree_size").first()
    size = head.size if head else 0
    return IntegrityStatus(
        log_size=size,
        checkpoint=checkpoint,
        events_since_checkpoint=size - (checkpoint.tree_size if checkpoint else 0),
        last_verified_at=head.last_verified_at if head else None,
        last_verified_ok=head.last_verified_ok if head else None,
    )


def audit_distinct_actions() -> list[str]:
    """Action codes for the filter's suggestions (distinct over the (action, seq) index)."""
    return list(
        AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()[:200]
    )


__all__ = [
    "AuditFilter",
    "AuditPage",
    "IntegrityStatus",
    "audit_distinct_actions",
    "audit_event_get",
    "audit_event_page",
    "audit_event_proof",
    "audit_event_queryset",
    "audit_integrity_status",
]
