"""What the detector reads from the output registry (jobs) and consent, as small typed values."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from consent.selectors import protected_identities
from jobs.models import OutputRecord
from jobs.selectors import output_fingerprints, output_record_by_id, output_record_by_manifest_id
from provenance.errors import ProvenanceError
from provenance.media import probe
from provenance.watermark import KnownPayload

from .verdict import RegistryEntry


def registered_payloads() -> list[KnownPayload]:
    """Every published output's watermark payload (for matching partly readable marks)."""
    rows = OutputRecord.objects.values_list("job_id", "payload_hex")
    return [KnownPayload(record_id, payload_hex) for record_id, payload_hex in rows]


def registered_fingerprints() -> list[tuple[int, str]]:
    """(record id, PDQ hex), one per second of every published output."""
    return output_fingerprints()


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
