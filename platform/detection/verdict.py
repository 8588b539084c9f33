"""From the four checks to one verdict: platform, altered_copy or none, and what differs.

Evidence, strongest first:
1. a trusted C2PA manifest whose id is in the registry: the file is what the platform signed;
2. the watermark identified at a false-positive bound <= 1e-9 (blind, matched against the
   registry, or against the fingerprint's candidates): a platform video, however re-encoded,
   resized, cropped or stripped of its manifest;
3. a tampered manifest whose id is in the registry: an altered copy of that output;
4. PDQ fingerprints within the match distance, or a partial watermark (<= 1e-6): an altered copy
   of one of the candidate records, which are reported ranked, and none of them named. Clips of
   one person from one portrait are as near to each other as to their own copies, so the nearest
   fingerprint is no evidence of which clip a copy came from: naming it would, for one person
   with several clips, give the wrong date, requester and consent.
Otherwise no platform provenance. A still image is at most an altered copy: the platform only
publishes videos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from provenance.fingerprint import MATCH_DISTANCE
from provenance.manifest import ManifestReport
from provenance.watermark import WatermarkDetection

from .checks import FingerprintCheck
from .sampling import SampledUpload

VerdictCode = Literal["platform", "altered_copy", "none"]
_MANIFEST_STATE_TEXT = {
    "missing": "It carries no C2PA manifest.",
    "tampered": "Its C2PA manifest no longer matches the content.",
    "untrusted": "Its C2PA manifest is signed by a certificate the platform did not issue.",
}
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
class Candidate:
    """A record an altered copy may come from, with the evidence for it."""

    record_id: int
    pdq_distance: int | None  # its nearest fingerprint's distance, when within the match distance
    watermark_agreement: float | None  # fraction of the payload's bits the frames agree with
    false_positive_bound: float | None  # for this record alone


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictCode
    record_id: int | None  # set only when one record is proven (manifest or watermark)
    evidence: tuple[str, ...]  # codes: c2pa, watermark, fingerprint, partial_watermark, ...
    differences: tuple[str, ...]  # plain sentences for the verdict page
    candidates: tuple[Candidate, ...] = ()  # an unproven altered copy's possible sources


def rank_candidates(
    watermark: WatermarkDetection, fingerprint: FingerprintCheck
) -> tuple[Candidate, ...]:
    """Every record the fingerprint or a partial watermark points at, the strongest watermark
    evidence first, then the nearest fingerprint."""
    distances = dict(fingerprint.candidates)
    matches = {
        record_id: (agreement, fp) for record_id, agreement, fp in watermark.candidate_matches
    }
    ids = list(distances)
    if watermark.partial_record_id is not None and watermark.partial_record_id not in distances:
        ids.append(watermark.partial_record_id)
        matches.setdefault(
            watermark.partial_record_id, (watermark.confidence, watermark.partial_false_positive)
        )
    candidates = [
        Candidate(
            record_id=record_id,
            pdq_distance=distances.get(record_id),
            watermark_agreement=matches.get(record_id, (None, None))[0],
            false_positive_bound=matches.get(record_id, (None, None))[1],
        )
        for record_id in ids
    ]

    def strength(candidate: Candidate) -> tuple[float, int, int]:
        bound = candidate.false_positive_bound
        distance = candidate.pdq_distance
        return (
            1.0 if bound is None else bound,
            257 if distance is None else distance,
            candidate.record_id,
        )

    return tuple(sorted(candidates, key=strength))


def _differences(
    entry: RegistryEntry | None,
    *,
    upload_sha256: str,
    sample: SampledUpload,
    watermark: WatermarkDetection,
    manifest: ManifestReport,
    fingerprint: FingerprintCheck,
) -> tuple[str, ...]:
    found: list[str] = []
    if entry is None:
        # No one record is proven: only what differs from every platform output can be said.
        if sample.kind == "image":
            found.append("It is a still image; the platform published videos.")
        if manifest.state in ("missing", "tampered", "untrusted"):
            found.append(_MANIFEST_STATE_TEXT[manifest.state])
        found.append("The watermark is weakened or only partly readable.")
        return tuple(found)
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
    watermark: WatermarkDetection,
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
    if fingerprint.candidates:
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
    if manifest.state == "tampered" and manifest.manifest_id:
        entry = entry_by_manifest(manifest.manifest_id)
        if entry is not None:
            return result("altered_copy", entry, ["c2pa_tampered", *evidence])
    candidates = rank_candidates(watermark, fingerprint)
    if candidates:
        differences = _differences(
            None,
            upload_sha256=upload_sha256,
            sample=sample,
            watermark=watermark,
            manifest=manifest,
            fingerprint=fingerprint,
        )
        return Verdict("altered_copy", None, tuple(evidence), differences, candidates)
    return Verdict("none", None, (), ())
