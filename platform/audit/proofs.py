"""Inclusion proofs for stored events against a signed checkpoint, fast at a million events.

merkle.inclusion_proof() needs every leaf in memory. Here a proof is assembled from the roots of
complete aligned subtrees (RFC 6962 splits a tree only at powers of two, so every sibling on a
path is a union of such subtrees), each read from AuditSubtreeRoot or computed once from its
block of leaves and stored. The event's own leaf is recomputed from its content, never taken from
the stored leaf_hash, so an altered event can never come with a proof that checks out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from . import merkle
from .models import AuditCheckpoint, AuditEvent, AuditSubtreeRoot

# Subtrees at or above this level (256 leaves) are cached in the database; smaller ones are
# rehashed from one block read (256 short rows), cheaper than a table row per node.
CACHED_LEVEL = 8


@dataclass(frozen=True)
class InclusionProof:
    """A leaf's audit path to the root of the checkpoint of size `tree_size`."""

    seq: int
    tree_size: int
    leaf_hash: str  # hex, recomputed from the event's canonical bytes
    path: list[str]  # hex sibling hashes, leaf to root (RFC 6962 PATH order)
    root_hash: str  # the checkpoint's signed root
    verified: bool  # the path leads from the leaf to the signed root


class SubtreeRoots:
    """Roots of aligned complete subtrees, memoised for one request or one export."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], bytes] = {}
        self._blocks: dict[int, list[bytes]] = {}

    def _block(self, block_index: int) -> list[bytes]:
        """Stored leaf hashes of the 2**CACHED_LEVEL leaves of one block (fewer at the edge)."""
        if block_index not in self._blocks:
            size = 1 << CACHED_LEVEL
            start = block_index * size
            rows = AuditEvent.objects.filter(seq__gte=start, seq__lt=start + size).order_by("seq")
            self._blocks[block_index] = [
                bytes.fromhex(h) for h in rows.values_list("leaf_hash", flat=True)
            ]
        return self._blocks[block_index]

    def complete(self, level: int, index: int) -> bytes:
        """Root of leaves [index * 2**level, (index + 1) * 2**level), which must all exist."""
        key = (level, index)
        if key in self._memo:
            return self._memo[key]
        if level < CACHED_LEVEL:
            block_level = CACHED_LEVEL - level
            block = self._block(index >> block_level)
            offset = (index << level) - ((index >> block_level) << CACHED_LEVEL)
            value = merkle.root(block[offset : offset + (1 << level)])
        else:
            stored = AuditSubtreeRoot.objects.filter(level=level, index=index).first()
            if stored is not None:
                value = bytes.fromhex(stored.root_hash)
            else:
                value = merkle.node_hash(
                    self.complete(level - 1, 2 * index), self.complete(level - 1, 2 * index + 1)
                )
                _store(level, index, value)
        self._memo[key] = value
        return value

    def range_root(self, start: int, end: int) -> bytes:
        """RFC 6962 MTH of leaves [start, end), `start` aligned as the RFC split leaves it."""
        size = end - start
        if size == 1:
            return self.complete(0, start)
        if size & (size - 1) == 0 and start % size == 0:
            return self.complete(size.bit_length() - 1, start // size)
        k = 1 << ((size - 1).bit_length() - 1)
        return merkle.node_hash(self.range_root(start, start + k), self.range_root(start + k, end))

    def path(self, index: int, start: int, end: int) -> list[bytes]:
        """RFC 6962 PATH(index, D[start:end]) built from subtree roots."""
        size = end - start
        if size == 1:
            return []
        k = 1 << ((size - 1).bit_length() - 1)
        if index < start + k:
            return self.path(index, start, start + k) + [self.range_root(start + k, end)]
        return self.path(index, start + k, end) + [self.range_root(start, start + k)]


def _store(level: int, index: int, value: bytes) -> None:
    # Two requests may compute the same subtree at once; the second insert is harmlessly refused.
    try:
        with transaction.atomic():
            AuditSubtreeRoot.objects.create(level=level, index=index, root_hash=value.hex())
    except IntegrityError:
        pass


def latest_checkpoint_covering(seq: int) -> AuditCheckpoint | None:
    """The newest signed checkpoint whose tree contains event `seq`."""
    return AuditCheckpoint.objects.filter(tree_size__gt=seq).order_by("-tree_size").first()


def inclusion_proof_for(
    event: AuditEvent, checkpoint: AuditCheckpoint, roots: SubtreeRoots | None = None
) -> InclusionProof:
    """The audit path of `event` in the tree signed by `checkpoint`, checked before it is shown."""
    if event.seq >= checkpoint.tree_size:
        raise ValueError("the checkpoint does not cover this event yet")
    roots = roots or SubtreeRoots()
    leaf = merkle.leaf_hash(event.canonical_bytes())
    path = roots.path(event.seq, 0, checkpoint.tree_size)
    verified = merkle.verify_inclusion(
        leaf, event.seq, checkpoint.tree_size, path, bytes.fromhex(checkpoint.root_hash)
    )
    return InclusionProof(
        seq=event.seq,
        tree_size=checkpoint.tree_size,
        leaf_hash=leaf.hex(),
        path=[p.hex() for p in path],
        root_hash=checkpoint.root_hash,
        verified=verified,
    )


def subtree_cache_warm(*, tree_size: int) -> None:
    """Cache every complete aligned subtree of 256+ leaves within the first `tree_size` leaves."""
    SubtreeRoots().range_root(0, tree_size)
