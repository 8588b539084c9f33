"""From the four checks to one verdict: platform, altered_copy or none, and what differs.

Evidence, strongest first:
1. a trusted C2PA manifest whose id is in the registry: the file is what the platform signed;
2. the watermark identified at a false-positive bound <= 1e-9 (blind, or matched against the
   registry): a platform video, however re-encoded, resized, cropped or stripped of its manifest;
3. a PDQ fingerprint within the match distance, a partial watermark (<= 1e-6), or a tampered
   manifest whose id is in the registry: an altered copy of that output;
otherwise no platform provenance. A still image is at most an altered copy: the platform only
publishes videos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from provenance.fingerprint import MATCH_DISTANCE
from provenance.manifest import ManifestReport

from .checks import FingerprintCheck, WatermarkCheck
from .sampling import SampledUpload

VerdictCode = Literal["platform", "altered_copy", "none"]
# PDQ distances up to this are what re-encoding alone does (measured 0-4 after CRF 30); beyond
# it the frames themselves were changed.
PDQ_REENCODE_DISTANCE = 8


@dataclass(frozen=True)
class RegistryEntry:
    """What the verdict needs from the output registry about one published video."""

    record_id: int
    payload_hex: str
    manifest_id: str
    file_sha256: str
    width: int | None  # of the published file, when it is still stored
    height: int | None
    duration_s: float


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictCode
    record_id: int | None
    evidence: tuple[str, ...]  # codes: c2pa, watermark, fingerprint, partial_watermark, ...
    differences: tuple[str, ...]  # plain sentences for the verdict page


def _differences(
    entry: RegistryEntry,
    *,
    upload_sha256: str,
    sample: SampledUpload,
    watermark: WatermarkCheck,
    manifest: ManifestReport,
    fingerprint: FingerprintCheck,
) -> tuple[str, ...]:
    found: list[str] = []
    if upload_sha256 == entry.file_sha256:
        return ()
    found.append("The file is not byte-identical to the published output.")
    if sample.kind == "image":
        found.append("It is a still image; the platform published a video.")
    if manifest.state == "missing":
        found.append("The C2PA manifest was removed.")
    elif manifest.state == "tampered":
        found.append(
            "The C2PA manifest no longer matches the content ("
            + (", ".join(manifest.codes) or "unreadable")
            + ")."
        )
    elif manifest.state == "untrusted":
        found.append("The C2PA manifest is signed by a certificate the platform did not issue.")
    elif manifest.manifest_id != entry.manifest_id:
        found.append("It carries a different C2PA manifest than the published output.")
    if (
        entry.width
        and entry.height
        and (sample.width, sample.height)
        != (
            entry.width,
            entry.height,
        )
    ):
        found.append(
            f"Its frames are {sample.width}x{sample.height}; "
            f"the published output is {entry.width}x{entry.height}."
        )
    if sample.kind == "video" and entry.duration_s > 0:
        if abs(sample.duration_s - entry.duration_s) > max(0.5, 0.05 * entry.duration_s):
            found.append(
                f"It lasts {sample.duration_s:.1f} s; "
                f"the published output lasts {entry.duration_s:.1f} s."
            )
    if not watermark.identified:
        found.append("The watermark is weakened or only partly readable.")
    elif watermark.record_id != entry.record_id:
        found.append(f"Its watermark names a different record ({watermark.record_id}).")
    if fingerprint.nearest_record_id == entry.record_id and fingerprint.distance is not None:
        if fingerprint.distance > MATCH_DISTANCE:
            found.append(
                f"Its frames were changed beyond a fingerprint match (cropped, re-framed or "
                f"edited: PDQ distance {fingerprint.distance} of 256)."
            )
        elif fingerprint.distance > PDQ_REENCODE_DISTANCE:
            found.append(
                f"Its frames were visibly changed (PDQ distance {fingerprint.distance} of 256)."
            )
    elif sample.kind == "video":
        found.append("Its frames no longer match the published fingerprints (cropped or edited).")
    return tuple(found)


def decide_verdict(
    *,
    upload_sha256: str,
    sample: SampledUpload,
    watermark: WatermarkCheck,
    manifest: ManifestReport,
    fingerprint: FingerprintCheck,
    entry_by_record: Callable[[int], RegistryEntry | None],
    entry_by_manifest: Callable[[str], RegistryEntry | None],
) -> Verdict:
    """The verdict and what differs from the published output it points at."""

    def result(verdict: VerdictCode, entry: RegistryEntry, evidence: list[str]) -> Verdict:
        differences = _differences(
            entry,
            upload_sha256=upload_sha256,
            sample=sample,
            watermark=watermark,
            manifest=manifest,
            fingerprint=fingerprint,
        )
        return Verdict(verdict, entry.record_id, tuple(evidence), differences)

    evidence: list[str] = []
    if watermark.identified:
        evidence.append("watermark")
    if fingerprint.record_id is not None:
        evidence.append("fingerprint")
    if watermark.partial_record_id is not None:
        evidence.append("partial_watermark")

    if manifest.state == "trusted" and manifest.manifest_id:
        entry = entry_by_manifest(manifest.manifest_id)
        if entry is not None:
            return result("platform", entry, ["c2pa", *evidence])
    if watermark.identified and watermark.record_id is not None:
        entry = entry_by_record(watermark.record_id)
        if entry is not None:
            return result("platform" if sample.kind == "video" else "altered_copy", entry, evidence)
    for record_id in (fingerprint.record_id, watermark.partial_record_id):
        if record_id is not None:
            entry = entry_by_record(record_id)
            if entry is not None:
                return result("altered_copy", entry, evidence)
    if manifest.state == "tampered" and manifest.manifest_id:
        entry = entry_by_manifest(manifest.manifest_id)
        if entry is not None:
            return result("altered_copy", entry, ["c2pa_tampered", *evidence])
    return Verdict("none", None, (), ())
