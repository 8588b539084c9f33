"""The append-only audit log: events, the running tree head, and signed checkpoints."""

from __future__ import annotations

import json

from django.db import models


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "allowed"
    DENIED = "denied", "denied"
    ERROR = "error", "error"


class AuditEvent(models.Model):
    """One security-relevant action. Never updated or deleted (database triggers enforce it).

    The actor is kept as an id and a label, not a foreign key: the log must outlive deleted
    accounts, and deleting a user must never cascade into the evidence. No raw biometric data or
    uploads ever go in `details`: hashes only.
    """

    seq = models.PositiveBigIntegerField(primary_key=True)  # position in the log, from 0
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)  # "<domain>.<verb>", e.g. "consent.revoked"
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    leaf_hash = models.CharField(max_length=64)  # hex RFC 6962 leaf hash of canonical_bytes()

    class Meta:
        ordering = ["seq"]
        # Review pages list newest first and page by seq (keyset, never OFFSET), and a time
        # range becomes a seq range (created_at never decreases along seq), so every filter
        # column is indexed together with seq: "WHERE x = ? AND seq < ? ORDER BY seq DESC
        # LIMIT 51" is then one index range read, measured flat at 1 million events.
        indexes = [
            models.Index(fields=["created_at"], name="audit_created_idx"),
            models.Index(fields=["actor_id", "seq"], name="audit_actor_seq_idx"),
            models.Index(fields=["actor_label", "seq"], name="audit_actor_label_seq_idx"),
            models.Index(
                fields=["subject_type", "subject_id", "seq"], name="audit_subject_seq_idx"
            ),
            models.Index(fields=["action", "seq"], name="audit_action_seq_idx"),
            models.Index(fields=["outcome", "seq"], name="audit_outcome_seq_idx"),
            models.Index(fields=["client_ip", "seq"], name="audit_ip_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"

    def canonical_bytes(self) -> bytes:
        """The exact bytes the Merkle leaf commits to: every field, sorted-key compact JSON."""
        return canonical_event_bytes(
            {
                "seq": self.seq,
                "created_at": self.created_at.isoformat(timespec="microseconds"),
                "actor_id": self.actor_id,
                "actor_label": self.actor_label,
                "subject_type": self.subject_type,
                "subject_id": self.subject_id,
                "action": self.action,
                "outcome": self.outcome,
                "reason": self.reason,
                "request_id": self.request_id,
                "client_ip": self.client_ip,
                "details": self.details,
            }
        )


def canonical_event_bytes(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AuditLogHead(models.Model):
    """The running tree head (one row): a cache that makes appends O(log n).

    It is mutable by design and proves nothing by itself; verification recomputes everything from
    the events and checks the signed checkpoints.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.PositiveBigIntegerField(default=0)
    frontier = models.JSONField(default=list)  # hex perfect-subtree roots, largest first
    last_checkpoint_size = models.PositiveBigIntegerField(default=0)
    last_checkpoint_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verified_ok = models.BooleanField(null=True)

    def __str__(self) -> str:
        return f"audit head at size {self.size}"


class AuditCheckpoint(models.Model):
    """A signed tree head: (size, root, time), Ed25519-signed with the platform audit key."""

    tree_size = models.PositiveBigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["tree_size"]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:12]}"

    def signed_message(self) -> bytes:
        return checkpoint_message(self.tree_size, self.root_hash, self.created_at, self.key_id)


def checkpoint_message(tree_size: int, root_hash: str, created_at, key_id: str) -> bytes:
    return (
        "consented-talking-faces audit checkpoint v1\n"
        f"{tree_size}\n{root_hash}\n{created_at.isoformat(timespec='microseconds')}\n{key_id}\n"
    ).encode()


class AuditSubtreeRoot(models.Model):
    """A cached root of one complete, aligned subtree of the log (2**level leaves from
    index * 2**level).

    Complete subtrees never change in an append-only log, so inclusion proofs at a million
    events read about forty of these rows instead of rehashing every leaf. A cache proves
    nothing: a proof built from a wrong row simply fails against the signed checkpoint, and the
    full verifier never reads this table.
    """

    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="audit_subtree_unique")
        ]

    def __str__(self) -> str:
        return f"subtree {self.level}/{self.index} {self.root_hash[:12]}"
