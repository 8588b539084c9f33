"""Recompute the whole audit log and check it against the signed checkpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.keys import verify_signature

from . import merkle
from .models import AuditCheckpoint, AuditEvent


@dataclass
class VerificationReport:
    events: int = 0
    checkpoints: int = 0
    root_hex: str = merkle.EMPTY_ROOT.hex()
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit log OK: {self.events} events, {self.checkpoints} signed checkpoints, "
                f"root {self.root_hex[:16]}…, verified in {self.seconds:.2f} s"
            )
        return f"audit log FAILED: {self.problems[0]}"


def verify_audit_log(chunk_size: int = 5000) -> VerificationReport:
    """Check every leaf, the sequence, the time order, every checkpoint root and signature.

    Problems are listed in log order, so the first one names the first bad event or checkpoint.
    """
    started = time.perf_counter()
    report = VerificationReport()
    checkpoints = list(AuditCheckpoint.objects.order_by("tree_size"))
    report.checkpoints = len(checkpoints)
    roots_at: dict[int, bytes] = {}
    wanted_sizes = {c.tree_size for c in checkpoints}

    frontier = merkle.MerkleFrontier()
    expected_seq = 0
    previous_time = None
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if event.seq != expected_seq:
            report.problems.append(
                f"event {expected_seq} is missing (deleted): the log jumps from "
                f"{expected_seq - 1} to {event.seq}"
            )
            expected_seq = event.seq  # keep checking the rest
        leaf = merkle.leaf_hash(event.canonical_bytes())
        if leaf.hex() != event.leaf_hash:
            report.problems.append(
                f"event {event.seq} was altered: its content does not match its leaf hash"
            )
        if previous_time is not None and event.created_at < previous_time:
            report.problems.append(
                f"event {event.seq} is out of order: it is older than event {event.seq - 1}"
            )
        previous_time = event.created_at
        # Gaps keep positions honest: leaves are appended in sequence, so a deleted event also
        # changes every later root and the checkpoint check below reports it.
        frontier.append(leaf)
        expected_seq += 1
        if frontier.size in wanted_sizes:
            roots_at[frontier.size] = frontier.root()
    report.events = frontier.size
    report.root_hex = frontier.root().hex()

    for checkpoint in checkpoints:
        if not verify_signature(
            "audit", checkpoint.key_id, checkpoint.signed_message(), checkpoint.signature
        ):
            report.problems.append(
                f"checkpoint at size {checkpoint.tree_size} has an invalid signature "
                f"(forged or re-signed; key {checkpoint.key_id})"
            )
            continue
        root = roots_at.get(checkpoint.tree_size)
        if root is None:
            report.problems.append(
                f"checkpoint at size {checkpoint.tree_size} covers events that no longer exist "
                f"(the log has {report.events})"
            )
        elif root.hex() != checkpoint.root_hash:
            report.problems.append(
                f"checkpoint at size {checkpoint.tree_size} does not match the log: an event at "
                f"or before {checkpoint.tree_size - 1} was changed, removed or reordered"
            )
    report.seconds = time.perf_counter() - started
    return report
