"""Times the auditor's review queries on a large generated log (run by hand, not by pytest).

    VAR_DIR=/tmp/audit1m DEBUG=1 .venv/bin/python manage.py migrate
    VAR_DIR=/tmp/audit1m DEBUG=1 .venv/bin/python manage.py generate_audit_events 1000000
    VAR_DIR=/tmp/audit1m .venv/bin/python tests/load/measure_audit_review.py

Prints the median of 5 runs per query, in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from audit.models import AuditEvent, AuditSubtreeRoot  # noqa: E402
from audit.proofs import SubtreeRoots, inclusion_proof_for, latest_checkpoint_covering  # noqa: E402
from audit.reports import audit_report  # noqa: E402
from audit.selectors import AuditFilter, audit_event_page  # noqa: E402


def median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    size = AuditEvent.objects.count()
    newest = AuditEvent.objects.order_by("-seq").first()
    print(f"log size: {size} events")
    day = newest.created_at - timedelta(days=30)
    cases = {
        "page 1, no filter": (AuditFilter(), None),
        "page at seq 500,000": (AuditFilter(), 500_000),
        "page at seq 1,000 (deep)": (AuditFilter(), 1_000),
        "action=consent.revoked": (AuditFilter(action="consent.revoked"), None),
        "action=consent.revoked, deep": (AuditFilter(action="consent.revoked"), 50_000),
        "action prefix job.": (AuditFilter(action="job."), None),
        "actor=user0042": (AuditFilter(actor="user0042"), None),
        "outcome=denied": (AuditFilter(outcome="denied"), None),
        "client_ip (exact)": (AuditFilter(client_ip=newest.client_ip), None),
        "subject job/<id>": (AuditFilter(subject_type="job", subject_id=newest.subject_id), None),
        "time range (one day, 30 days ago)": (
            AuditFilter(since=day, until=day + timedelta(days=1)),
            None,
        ),
        "time range + action": (
            AuditFilter(since=day, until=day + timedelta(days=1), action="policy.decided"),
            None,
        ),
    }
    for label, (filters, before) in cases.items():
        ms = median_ms(lambda f=filters, b=before: audit_event_page(filters=f, before=b))
        print(f"  search {label:38s} {ms:8.1f} ms")

    AuditSubtreeRoot.objects.all().delete()
    target = AuditEvent.objects.get(seq=123_456)
    checkpoint = latest_checkpoint_covering(target.seq)
    started = time.perf_counter()
    proof = inclusion_proof_for(target, checkpoint, SubtreeRoots())
    cold = (time.perf_counter() - started) * 1000
    warm = median_ms(lambda: inclusion_proof_for(target, checkpoint, SubtreeRoots()))
    other = AuditEvent.objects.get(seq=987_654 % size)
    other_ms = median_ms(lambda: inclusion_proof_for(other, checkpoint, SubtreeRoots()))
    print(
        f"  proof (tree {checkpoint.tree_size}): cold cache {cold:.0f} ms, warm {warm:.1f} ms, "
        f"another event {other_ms:.1f} ms, verified={proof.verified}, "
        f"{AuditSubtreeRoot.objects.count()} cached subtree rows"
    )
    report_ms = median_ms(lambda: audit_report(since=day), runs=3)
    print(f"  reports over the last 30 days: {report_ms:.0f} ms")
    report_all = median_ms(lambda: audit_report(), runs=1)
    print(f"  reports over the whole log: {report_all:.0f} ms")


if __name__ == "__main__":
    main()
