"""The registry as a detection worker holds it: packed codewords and a PDQ index, in memory.

Loaded once per worker process and then kept current by polling a high-water mark on the
default database (`IndexedOutput.seq`, rows are only ever added): every detection first asks
for the rows past it, one indexed query of ~1 ms, so an output is matchable by the next check
after its publish commits, with no reload. Redis pub/sub would save that query but could lose
a message; the database cannot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Length
from django.db.models.signals import post_save

from core.keys import secret_bytes
from jobs.models import OutputRecord
from provenance.fingerprint_index import HASH_BYTES, PdqIndex, hashes_from_hex
from provenance.watermark.packed import PACKED_BYTES, PackedPayloads, packed_payload

from .heap import return_large_buffers_at_once
from .models import IndexedOutput

VALUE_BYTES = 8  # the scrambled payload value ahead of the packed codeword
_BATCH = 50_000  # rows read per query at load: bounded memory, few round trips
# PostgreSQL hands out seq at insert, so a slow transaction can commit a seq below one already
# seen: each poll looks this many seqs back and takes the rows it does not hold yet.
LATE_WINDOW = 1024


@dataclass
class LiveRegistry:
    """One worker's copy of the registry; `refresh` appends what was published since."""

    payloads: PackedPayloads
    fingerprints: PdqIndex
    high_water: int = 0  # the last IndexedOutput.seq held
    last_record_id: int | None = None  # the record at high_water, to notice a rolled-back row
    recent: set[int] = field(default_factory=set)  # seqs held within LATE_WINDOW of high_water

    def refresh(self) -> int:
        """Append every row published since the last call; returns how many.

        When the row at the high-water mark is gone (a test database rolled back, a restore),
        everything is reloaded: what this worker holds no longer describes the database.
        """
        if (
            self.high_water
            and not IndexedOutput.objects.filter(
                seq=self.high_water, record_id=self.last_record_id
            ).exists()
        ):
            fresh = load_registry()
            self.payloads, self.fingerprints = fresh.payloads, fresh.fingerprints
            self.high_water, self.last_record_id = fresh.high_water, fresh.last_record_id
            self.recent = fresh.recent
            return len(self.payloads)
        added = 0
        since = max(0, self.high_water - LATE_WINDOW)
        while True:
            rows = list(
                IndexedOutput.objects.filter(seq__gt=since)
                .order_by("seq")
                .values_list("seq", "record_id", "packed", "fingerprints")[:_BATCH]
            )
            if not rows:
                return added
            since = rows[-1][0]
            fresh = [row for row in rows if row[0] not in self.recent]
            if fresh:
                self._append(fresh)
                added += len(fresh)

    def _append(self, rows: list[tuple[int, int, bytes, bytes]]) -> None:
        ids = np.array([row[1] for row in rows], np.int64)  # (k,)
        packed = np.frombuffer(b"".join(bytes(row[2]) for row in rows), np.uint8)
        packed = packed.reshape(len(rows), VALUE_BYTES + PACKED_BYTES)  # (k, 68)
        values = np.ascontiguousarray(packed[:, :VALUE_BYTES]).view(">u8")[:, 0]  # (k,)
        self.payloads.append(ids, values.astype(np.uint64), packed[:, VALUE_BYTES:])
        counts = [len(row[3]) // HASH_BYTES for row in rows]
        hashes = np.frombuffer(b"".join(bytes(row[3]) for row in rows), np.uint8)
        self.fingerprints.add(np.repeat(ids, counts), hashes.reshape(-1, HASH_BYTES))
        if rows[-1][0] > self.high_water:
            self.high_water, self.last_record_id = rows[-1][0], rows[-1][1]
        floor = self.high_water - LATE_WINDOW
        self.recent = {seq for seq in self.recent if seq > floor}
        self.recent.update(row[0] for row in rows if row[0] > floor)


def load_registry() -> LiveRegistry:
    """Read every indexed output (a worker's start), into arrays sized once for all of them
    and an eighth more, so the load copies nothing and the next outputs append in place.

    A process that holds the registry checks files: from here on its large buffers go back to
    the system when freed (`heap`), so it peaks near what it holds."""
    return_large_buffers_at_once()
    totals = IndexedOutput.objects.aggregate(
        rows=Count("seq"), hash_bytes=Sum(Length("fingerprints"))
    )
    rows, hashes = totals["rows"] or 0, (totals["hash_bytes"] or 0) // HASH_BYTES
    registry = LiveRegistry(
        PackedPayloads(capacity=max(1024, rows + rows // 8)),
        PdqIndex(capacity=max(1024, hashes + hashes // 8)),
    )
    registry.refresh()
    return registry


_live: LiveRegistry | None = None
_live_lock = threading.Lock()


def live_registry() -> LiveRegistry:
    """This process's registry, loaded on first use and brought up to date on every call."""
    global _live
    with _live_lock:
        if _live is None:
            _live = load_registry()
        else:
            _live.refresh()
        return _live


def indexed_output_row(*, record_id: int, payload_hex: str, fingerprints: list[str], key: bytes):
    """The IndexedOutput of one published output (unsaved): its codewords and PDQ hashes."""
    value = int(payload_hex, 16).to_bytes(VALUE_BYTES, "big")
    return IndexedOutput(
        record_id=record_id,
        packed=value + packed_payload(payload_hex, key),
        fingerprints=hashes_from_hex(list(fingerprints)).tobytes(),
    )


def indexed_output_create(*, record: OutputRecord, key: bytes) -> IndexedOutput:
    """Index a newly published output, in the transaction that writes its record."""
    row = indexed_output_row(
        record_id=record.pk,
        payload_hex=record.payload_hex,
        fingerprints=list(record.fingerprints),
        key=key,
    )
    with transaction.atomic():
        row.save(force_insert=True)
    return row


def _index_published_output(sender, instance: OutputRecord, created: bool, raw: bool, **kwargs):
    """jobs publishes without knowing detection exists (a lower app never imports a higher one);
    this receiver indexes each new record inside the transaction that writes it."""
    if created and not raw:
        indexed_output_create(record=instance, key=secret_bytes("watermark"))


def connect_publish_hook() -> None:
    post_save.connect(
        _index_published_output, sender=OutputRecord, dispatch_uid="detection.index_output"
    )
