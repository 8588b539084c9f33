"""Oversight reports computed from the audit log alone (its action codes), never from app tables.

The log is the evidence: a report that read the jobs or consent tables could disagree with it
after a deletion. Each query reads one action code through the (action, seq) index; JSON keys
are grouped in the database where Django can (KT), lists of reason codes in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count
from django.db.models.fields.json import KT

from audit.actions import AuditAction

from .selectors import AuditFilter, audit_event_queryset

TOP = 50  # rows per table: reports summarise, the filtered log has the rest


@dataclass
class RevocationEffect:
    seq: int
    created_at: datetime
    actor_label: str
    grant_id: str
    identity_id: str
    jobs_cancelled: int
    outputs_marked: int


@dataclass
class LiveSessionCounts:
    """Live sessions by how they went, and the seconds streamed by those that ended or were
    terminated (a failed session may never have streamed: its clock starts at the request)."""

    started: int = 0
    ended: int = 0  # stopped and published
    terminated: int = 0  # consent revoked mid-stream
    failed: int = 0
    seconds_total: float = 0.0

    def as_dict(self) -> dict:
        return {
            "started": self.started,
            "ended": self.ended,
            "terminated": self.terminated,
            "failed": self.failed,
            "seconds_total": round(self.seconds_total, 2),
        }


@dataclass
class AuditReport:
    since: datetime | None
    until: datetime | None
    denials_by_reason: list[tuple[str, int]] = field(default_factory=list)
    denials_by_action: list[tuple[str, int]] = field(default_factory=list)
    generations_by_identity: list[tuple[str, int]] = field(default_factory=list)
    generations_by_requester: list[tuple[str, int]] = field(default_factory=list)
    revocations: list[RevocationEffect] = field(default_factory=list)
    jobs_cancelled_total: int = 0
    outputs_marked_total: int = 0
    detections_by_verdict: list[tuple[str, int]] = field(default_factory=list)
    live_sessions: LiveSessionCounts = field(default_factory=LiveSessionCounts)

    def as_dict(self) -> dict:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "denials_by_reason": dict(self.denials_by_reason),
            "denials_by_action": dict(self.denials_by_action),
            "generations_by_identity": dict(self.generations_by_identity),
            "generations_by_requester": dict(self.generations_by_requester),
            "revocations": [
                {
                    "seq": r.seq,
                    "created_at": r.created_at.isoformat(),
                    "actor": r.actor_label,
                    "grant_id": r.grant_id,
                    "identity_id": r.identity_id,
                    "jobs_cancelled": r.jobs_cancelled,
                    "outputs_marked": r.outputs_marked,
                }
                for r in self.revocations
            ],
            "jobs_cancelled_total": self.jobs_cancelled_total,
            "outputs_marked_total": self.outputs_marked_total,
            "detections_by_verdict": dict(self.detections_by_verdict),
            "live_sessions": self.live_sessions.as_dict(),
        }


def _grouped(qs, key: str) -> list[tuple[str, int]]:
    rows = (
        qs.annotate(group=KT(f"details__{key}"))
        .values("group")
        .annotate(n=Count("seq"))
        .order_by("-n", "group")[:TOP]
    )
    return [("" if row["group"] is None else str(row["group"]), row["n"]) for row in rows]


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _live_session_counts(events) -> LiveSessionCounts:
    counts = LiveSessionCounts()
    by_action = dict(
        events.filter(
            action__in=[
                AuditAction.LIVE_STARTED,
                AuditAction.LIVE_ENDED,
                AuditAction.LIVE_TERMINATED,
                AuditAction.LIVE_FAILED,
            ]
        )
        .values("action")
        .annotate(n=Count("seq"))
        .values_list("action", "n")
    )
    counts.started = by_action.get(AuditAction.LIVE_STARTED, 0)
    counts.ended = by_action.get(AuditAction.LIVE_ENDED, 0)
    counts.terminated = by_action.get(AuditAction.LIVE_TERMINATED, 0)
    counts.failed = by_action.get(AuditAction.LIVE_FAILED, 0)
    # A session has one end event; its duration_s runs from the node's admission to the end.
    for details in (
        events.filter(action__in=[AuditAction.LIVE_ENDED, AuditAction.LIVE_TERMINATED])
        .values_list("details", flat=True)
        .iterator()
    ):
        if isinstance(details, dict):
            counts.seconds_total += _float(details.get("duration_s"))
    return counts


def audit_report(*, since: datetime | None = None, until: datetime | None = None) -> AuditReport:
    """Denials by reason, generations per identity and requester, revocations and their effect,
    detections by verdict, live sessions, over [since, until]."""
    window = AuditFilter(since=since, until=until)
    events = audit_event_queryset(filters=window)
    report = AuditReport(since=since, until=until)

    denied_decisions = events.filter(action=AuditAction.POLICY_DECIDED, outcome="denied")
    reasons: Counter[str] = Counter()
    for details in denied_decisions.values_list("details", flat=True).iterator(chunk_size=2000):
        codes = details.get("reasons") if isinstance(details, dict) else None
        for code in codes if isinstance(codes, list) and codes else ["unspecified"]:
            reasons[str(code)] += 1
    report.denials_by_reason = reasons.most_common(TOP)
    report.denials_by_action = [
        (row["action"], row["n"])
        for row in events.filter(outcome="denied")
        .values("action")
        .annotate(n=Count("seq"))
        .order_by("-n", "action")[:TOP]
    ]

    # A published live recording is a generation like an offline video.
    published = events.filter(action__in=[AuditAction.JOB_PUBLISHED, AuditAction.LIVE_ENDED])
    report.generations_by_identity = _grouped(published, "identity_id")
    report.generations_by_requester = _grouped(published, "requester_id")

    for event in events.filter(action=AuditAction.CONSENT_REVOKED).order_by("-seq")[:TOP]:
        details = event.details if isinstance(event.details, dict) else {}
        effect = RevocationEffect(
            seq=event.seq,
            created_at=event.created_at,
            actor_label=event.actor_label,
            grant_id=str(details.get("grant_id", event.subject_id)),
            identity_id=str(details.get("identity_id", "")),
            jobs_cancelled=_int(details.get("jobs_cancelled")),
            outputs_marked=_int(details.get("outputs_marked")),
        )
        report.revocations.append(effect)
    for details in (
        events.filter(action=AuditAction.CONSENT_REVOKED)
        .values_list("details", flat=True)
        .iterator()
    ):
        details = details if isinstance(details, dict) else {}
        report.jobs_cancelled_total += _int(details.get("jobs_cancelled"))
        report.outputs_marked_total += _int(details.get("outputs_marked"))

    report.detections_by_verdict = _grouped(
        events.filter(action=AuditAction.DETECTION_CHECKED), "verdict"
    )
    report.live_sessions = _live_session_counts(events)
    return report
