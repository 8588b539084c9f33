"""`python manage.py generate_audit_events N`: append N realistic synthetic events (measurement).

For the 1-million-event review measurements only: run it against a throwaway database
(`VAR_DIR=/tmp/audit1m python manage.py migrate && ... generate_audit_events 1000000`). Events
are real log entries (correct leaves, running root, signed checkpoints every --checkpoint-every
events), written in bulk because audit_record's one-row-per-transaction path would take an hour.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit import merkle
from audit.actions import AuditAction
from audit.models import AuditEvent, AuditLogHead
from audit.services import _write_checkpoint

ACTIONS = [
    # (action, outcome, weight)
    (AuditAction.POLICY_DECIDED, "allowed", 20),
    (AuditAction.POLICY_DECIDED, "denied", 6),
    (AuditAction.JOB_SUBMITTED, "allowed", 20),
    (AuditAction.JOB_PUBLISHED, "allowed", 18),
    (AuditAction.JOB_FAILED, "error", 1),
    (AuditAction.JOB_CANCELLED, "allowed", 1),
    (AuditAction.CONSENT_GRANTED, "allowed", 4),
    (AuditAction.CONSENT_REVOKED, "allowed", 1),
    (AuditAction.DETECTION_CHECKED, "allowed", 25),
    (AuditAction.IDENTITY_VERIFIED, "allowed", 2),
    (AuditAction.API_TOKEN_ISSUED, "allowed", 2),
]
DENIAL_CODES = ["no_active_grant", "purpose_not_granted", "grant_expired", "emotion_not_allowed"]
VERDICTS = ["platform_output", "not_found", "revoked_output", "protected_likeness"]


def _details(rng: random.Random, action: str, outcome: str) -> tuple[str, str, dict, str]:
    identity, requester = rng.randrange(1, 2000), rng.randrange(1, 300)
    if action == AuditAction.POLICY_DECIDED:
        codes = [rng.choice(DENIAL_CODES)] if outcome == "denied" else []
        return (
            "identity",
            str(identity),
            {
                "decision_id": f"{rng.getrandbits(64):016x}",
                "reasons": codes,
                "policy_version": "2026-11",
                "identity_id": identity,
                "requester_id": requester,
                "purpose": "news",
            },
            "; ".join(codes),
        )
    if action == AuditAction.JOB_PUBLISHED:
        record = rng.randrange(1, 10**6)
        return (
            "job",
            str(record),
            {
                "record_id": record,
                "identity_id": identity,
                "requester_id": requester,
                "grant_id": rng.randrange(1, 5000),
            },
            "",
        )
    if action == AuditAction.CONSENT_REVOKED:
        grant = rng.randrange(1, 5000)
        return (
            "grant",
            str(grant),
            {
                "grant_id": grant,
                "identity_id": identity,
                "jobs_cancelled": rng.randrange(0, 3),
                "outputs_marked": rng.randrange(0, 20),
            },
            "",
        )
    if action == AuditAction.DETECTION_CHECKED:
        return (
            "detection",
            str(rng.randrange(1, 10**6)),
            {
                "upload_sha256": f"{rng.getrandbits(256):064x}",
                "verdict": rng.choice(VERDICTS),
                "record_id": rng.randrange(1, 10**6),
            },
            "",
        )
    return "job", str(rng.randrange(1, 10**6)), {"identity_id": identity}, ""


class Command(BaseCommand):
    help = "Append N synthetic audit events in bulk (for the 1M-event measurement; not for prod)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--checkpoint-every", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            help="required unless DEBUG is on: synthetic events pollute a real log forever",
        )

    def handle(self, *args, **options):
        if not (settings.DEBUG or options["i_know_this_is_not_production"]):
            raise CommandError("refusing: pass --i-know-this-is-not-production on a throwaway DB")
        rng = random.Random(options["seed"])
        population = [(a, o) for a, o, w in ACTIONS for _ in range(w)]
        actors = [(n, f"user{n:04d}") for n in range(1, 400)] + [(None, "system")]
        count, batch = options["count"], options["batch"]
        started = time.perf_counter()
        # Spread the synthetic events over the last 90 days, oldest first, never decreasing.
        clock = timezone.now() - timedelta(days=90)
        last = AuditEvent.objects.order_by("-seq").values_list("created_at", flat=True).first()
        clock = max(clock, last) if last else clock
        step = timedelta(days=90) / max(count, 1)
        written = 0
        while written < count:
            n = min(batch, count - written)
            with transaction.atomic():
                head, _ = AuditLogHead.objects.select_for_update().get_or_create(pk=1)
                frontier = merkle.MerkleFrontier.from_hex(head.size, head.frontier)
                rows = []
                for _ in range(n):
                    action, outcome = rng.choice(population)
                    actor_id, label = rng.choice(actors)
                    subject_type, subject_id, details, reason = _details(rng, action, outcome)
                    clock += step
                    event = AuditEvent(
                        seq=frontier.size,
                        created_at=clock,
                        actor_id=actor_id,
                        actor_label=label,
                        subject_type=subject_type,
                        subject_id=subject_id,
                        action=action,
                        outcome=outcome,
                        reason=reason,
                        request_id=f"{rng.getrandbits(128):032x}",
                        client_ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",  # noqa: E501
                        details=details,
                    )
                    leaf = merkle.leaf_hash(event.canonical_bytes())
                    event.leaf_hash = leaf.hex()
                    frontier.append(leaf)
                    rows.append(event)
                AuditEvent.objects.bulk_create(rows, batch_size=1000)
                head.size, head.frontier = frontier.size, frontier.to_hex()
                head.save(update_fields=["size", "frontier"])
                written += n
                if (
                    head.size - head.last_checkpoint_size >= options["checkpoint_every"]
                    or written == count
                ):
                    _write_checkpoint(head)
            if written % 100_000 < batch:
                self.stdout.write(f"{written} events, {time.perf_counter() - started:.0f} s")
        self.stdout.write(f"done: {written} events in {time.perf_counter() - started:.1f} s")
