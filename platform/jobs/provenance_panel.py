"""The result page's provenance panel: what the published file itself says, read back with the
platform root as the only trust anchor, beside what the registry recorded."""

from __future__ import annotations

from dataclasses import dataclass

from core.keys import c2pa_signing_identity
from provenance.errors import ProvenanceError
from provenance.manifest import read_manifest

from .inputs import media_path
from .models import OutputRecord


@dataclass(frozen=True)
class ProvenancePanel:
    state: str  # trusted | untrusted | tampered | missing | unreadable
    codes: tuple[str, ...]
    manifest_id: str | None
    actions: tuple[str, ...]
    digital_source_type: str | None
    watermark_id: str | None  # the soft binding's value (the payload's hex)
    record_id: str | None
    decision_id: str | None
    receipt_id: str | None
    matches_registry: bool  # manifest id and watermark id are the ones the registry holds


def provenance_panel(record: OutputRecord) -> ProvenancePanel:
    try:
        anchor = c2pa_signing_identity().root_pem
        report = read_manifest(media_path(record.file_path), anchor)
    except (ProvenanceError, OSError) as error:
        return ProvenancePanel(
            "unreadable", (str(error),), None, (), None, None, None, None, None, False
        )
    platform = report.platform or {}
    watermark_id = (report.soft_binding or {}).get("value")
    return ProvenancePanel(
        state=report.state,
        codes=report.codes,
        manifest_id=report.manifest_id,
        actions=report.actions,
        digital_source_type=report.digital_source_type,
        watermark_id=watermark_id,
        record_id=platform.get("record_id"),
        decision_id=platform.get("decision_id"),
        receipt_id=platform.get("consent_receipt_id") or None,
        matches_registry=(
            report.manifest_id == record.manifest_id and watermark_id == record.payload_hex
        ),
    )
