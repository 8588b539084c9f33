"""What the detector reads from the output registry (jobs) and consent, as small typed values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from consent.selectors import protected_identities
from jobs.models import OutputRecord
from jobs.selectors import output_record_by_id, output_record_by_manifest_id
from provenance.errors import ProvenanceError
from provenance.fingerprint import MATCH_DISTANCE
from provenance.fingerprint_index import hashes_from_hex
from provenance.media import probe
from provenance.watermark import MAX_CANDIDATES, KnownPayload

from .index import VALUE_BYTES, LiveRegistry, live_registry
from .models import IndexedOutput
from .verdict import RegistryEntry


def live_indexes() -> LiveRegistry:
    """This worker's in-memory registry (packed codewords, PDQ index), brought up to date."""
    return live_registry()


def candidate_payloads(record_ids: Sequence[int]) -> list[KnownPayload]:
    """The payloads of the first MAX_CANDIDATES of some indexed outputs (a check's PDQ
    candidates, nearest first), in the order given: the watermark tries no more than those, and
    a face with many clips can have a thousand look-alikes within the PDQ radius."""
    record_ids = list(record_ids)[:MAX_CANDIDATES]
    rows = IndexedOutput.objects.filter(record_id__in=record_ids).values_list("record_id", "packed")
    value_of = {r: int.from_bytes(bytes(packed)[:VALUE_BYTES], "big") for r, packed in rows}
    return [KnownPayload(r, f"{value_of[r]:016x}") for r in record_ids if r in value_of]


def records_near_pdq(value: str) -> tuple[tuple[int, int], ...]:
    """(record id, nearest distance) of every output with a PDQ hash within MATCH_DISTANCE of
    `value` (64 hex), nearest first, from this worker's index. MediaError for a bad hash."""
    hashes_from_hex([value])  # refused even while the registry is empty
    return live_registry().fingerprints.search([value], MATCH_DISTANCE).within


def protected_descriptors() -> list[tuple[int, object]]:
    """(identity id, (128,) descriptor) of verified identities whose owners turned protection on."""
    return [(identity.pk, descriptor) for identity, descriptor in protected_identities()]


def _published_size(record: OutputRecord) -> tuple[int | None, int | None]:
    """The stored output's frame size from its header (a few ms), if the file is still there."""
    path = Path(settings.MEDIA_ROOT) / record.file_path
    try:
        info = probe(path)
    except ProvenanceError:
        return None, None
    return info.width, info.height


def registry_entry(record: OutputRecord) -> RegistryEntry:
    width, height = _published_size(record)
    return RegistryEntry(
        record_id=record.pk,
        payload_hex=record.payload_hex,
        manifest_id=record.manifest_id,
        file_sha256=record.file_sha256,
        width=width,
        height=height,
        duration_s=record.duration_s,
    )


def entry_by_record(record_id: int) -> RegistryEntry | None:
    record = output_record_by_id(record_id)
    return registry_entry(record) if record is not None else None


def entry_by_manifest(manifest_id: str) -> RegistryEntry | None:
    record = output_record_by_manifest_id(manifest_id)
    return registry_entry(record) if record is not None else None
