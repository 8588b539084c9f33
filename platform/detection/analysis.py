"""One check of a file: run the four checks, decide, and store the verdict with its audit row.

Shared by the two halves of a check: `services` (a file checked at once) and `run` (the
worker's half of a long clip). Reads the registry; the only write is `detection_record`.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.models import Identity
from core.keys import c2pa_signing_identity, secret_bytes
from jobs.selectors import output_record_by_id
from provenance.manifest import ManifestReport, read_manifest
from provenance.media import MediaLimits, sha256_file
from provenance.watermark import WatermarkDetection, detect_sampled

from . import registry
from .checks import (
    LIKENESS_NOT_NEEDED,
    FingerprintCheck,
    LikenessCheck,
    fingerprint_check,
    likeness_check,
)
from .evidence import evidence_frames
from .models import Detection, DetectionStatus, LikenessAlert, VerdictChoice
from .sampling import SampledUpload, sample_upload
from .selectors import record_consent_status
from .verdict import Candidate, Verdict, decide_verdict


@dataclass(frozen=True)
class DetectionResult:
    """The outcome of one check, as the API, the portal and the CLI report it."""

    detection_id: str
    status: str
    verdict: str  # platform, altered_copy, none ("" while pending)
    record_id: int | None
    payload: str | None  # the watermark payload (scrambled value, hex) that identified it
    watermark_confidence: float | None
    false_positive_probability: float | None
    c2pa_state: str | None
    fingerprint_distance: int | None
    protected_identity: int | None
    seconds: float
    summary: dict

    def cli_json(self) -> dict:
        """The keys `manage.py detect --json` prints, in a fixed order scripts may rely on."""
        return {
            "verdict": self.verdict,
            "record_id": self.record_id,
            "payload": self.payload,
            "watermark_confidence": self.watermark_confidence,
            "false_positive_probability": self.false_positive_probability,
            "c2pa_state": self.c2pa_state,
            "fingerprint_distance": self.fingerprint_distance,
            "protected_identity": self.protected_identity,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Analysis:
    """Everything the four checks found in one file, and the verdict drawn from it."""

    upload_sha256: str
    sample: SampledUpload
    watermark: WatermarkDetection
    manifest: ManifestReport
    fingerprint: FingerprintCheck
    likeness: LikenessCheck
    verdict: Verdict
    seconds: float


def detection_limits() -> MediaLimits:
    return MediaLimits(
        max_bytes=settings.DETECTION_MAX_BYTES,
        max_seconds=settings.DETECTION_MAX_SECONDS,
        max_pixels=settings.DETECTION_MAX_PIXELS,
    )


def detection_analyse(path: str | os.PathLike[str]) -> Analysis:
    """Run the four checks and decide; reads the registry, writes nothing."""
    started = time.perf_counter()
    limits = detection_limits()
    upload_sha256 = sha256_file(path)
    sample = sample_upload(path, limits)
    live = registry.live_indexes()
    fingerprint = fingerprint_check(sample.fingerprint_frames, live.fingerprints)
    watermark = detect_sampled(
        sample.watermark_frames,
        secret_bytes("watermark"),
        positions=sample.watermark_positions,
        more_frames=sample.second_look_frames,
        more_positions=sample.second_look_positions,
        fps=sample.fps,
        known=live.payloads,
        candidates=registry.candidate_payloads([r for r, _ in fingerprint.candidates]),
    )
    anchor = c2pa_signing_identity().root_pem
    manifest = read_manifest(path, anchor)
    verdict = decide_verdict(
        upload_sha256=upload_sha256,
        sample=sample,
        watermark=watermark,
        manifest=manifest,
        fingerprint=fingerprint,
        entry_by_record=registry.entry_by_record,
        entry_by_manifest=registry.entry_by_manifest,
    )
    # The face check only matters without platform provenance (an alert to the face's owner);
    # a proven record already names whose likeness the file shows. Skipping it there saves
    # ~0.2 s of a clip's check, most of it dlib's descriptor.
    if verdict.verdict == VerdictChoice.PLATFORM:
        likeness = LIKENESS_NOT_NEEDED
    else:
        likeness = likeness_check(sample.face_frame, registry.protected_descriptors())
    return Analysis(
        upload_sha256=upload_sha256,
        sample=sample,
        watermark=watermark,
        manifest=manifest,
        fingerprint=fingerprint,
        likeness=likeness,
        verdict=verdict,
        seconds=time.perf_counter() - started,
    )


def _record_facts(record_id: int) -> dict | None:
    """What the answer says of one output record: public facts, plus the identity (for auditors;
    the public presenter drops it)."""
    record = output_record_by_id(record_id)
    if record is None:
        return None
    return {
        "record_id": record.pk,
        "published_at": record.published_at.isoformat(),
        "consent_status": record_consent_status(record),
        "duration_s": record.duration_s,
        "identity_id": record.identity_id,
    }


def _candidate_facts(candidate: Candidate) -> dict | None:
    facts = _record_facts(candidate.record_id)
    if facts is None:
        return None
    bound = candidate.false_positive_bound
    return {
        **facts,
        "pdq_distance": candidate.pdq_distance,
        "watermark_agreement": (
            None
            if candidate.watermark_agreement is None
            else round(candidate.watermark_agreement, 4)
        ),
        "false_positive_bound": None if bound is None else float(f"{bound:.3g}"),
    }


def _summary(analysis: Analysis) -> dict:
    """The stored, JSON-safe account of the checks (hashes and numbers, no pixels)."""
    sample, watermark, manifest = analysis.sample, analysis.watermark, analysis.manifest
    fingerprint, likeness, verdict = analysis.fingerprint, analysis.likeness, analysis.verdict
    record_facts = _record_facts(verdict.record_id) if verdict.record_id is not None else None
    candidates = [_candidate_facts(c) for c in verdict.candidates]
    return {
        "media": {
            "kind": sample.kind,
            "format": sample.format,
            "width": sample.width,
            "height": sample.height,
            "duration_s": round(sample.duration_s, 3),
            "fps": round(sample.fps, 3),
            "frame_count": sample.frame_count,
        },
        "verdict": {
            "verdict": verdict.verdict,
            "record_id": verdict.record_id,
            "evidence": list(verdict.evidence),
            "differences": list(verdict.differences),
        },
        "record": record_facts,
        "candidates": [c for c in candidates if c is not None],
        "watermark": asdict(watermark),
        "c2pa": {
            "state": manifest.state,
            "codes": list(manifest.codes),
            "manifest_id": manifest.manifest_id,
            "actions": list(manifest.actions),
            "digital_source_type": manifest.digital_source_type,
            "soft_binding": manifest.soft_binding,
            "platform": manifest.platform,
        },
        "fingerprint": {
            "distance": fingerprint.distance,
            "record_id": fingerprint.record_id,
            "nearest_record_id": fingerprint.nearest_record_id,
            "candidates": [list(c) for c in fingerprint.candidates],
            "frames_hashed": len(fingerprint.hashes),
        },
        "likeness": {
            "checked": likeness.checked,
            "faces": likeness.faces,
            "protected_identity": likeness.identity_id,
            "distance": None if likeness.distance is None else round(likeness.distance, 4),
            # Only without platform provenance is a protected face a possible misuse.
            "warning": likeness.identity_id is not None and verdict.verdict == VerdictChoice.NONE,
        },
        "evidence_frames": evidence_frames(sample, verdict),
        "seconds": round(analysis.seconds, 3),
    }


def detection_result(detection: Detection) -> DetectionResult:
    """The result view of a stored detection (pending ones have an empty verdict)."""
    summary = detection.summary or {}
    watermark = summary.get("watermark") or {}
    return DetectionResult(
        detection_id=str(detection.pk),
        status=detection.status,
        verdict=detection.verdict,
        record_id=detection.record_id,
        payload=watermark.get("value_hex"),
        watermark_confidence=watermark.get("confidence"),
        false_positive_probability=watermark.get("false_positive_probability"),
        c2pa_state=(summary.get("c2pa") or {}).get("state"),
        fingerprint_distance=(summary.get("fingerprint") or {}).get("distance"),
        protected_identity=(summary.get("likeness") or {}).get("protected_identity"),
        seconds=float(summary.get("seconds") or 0.0),
        summary=summary,
    )


@transaction.atomic
def detection_record(detection: Detection, analysis: Analysis, actor) -> Detection:
    """Store the verdict, alert the owner of a protected face, and audit, in one transaction."""
    verdict = analysis.verdict
    detection.status = DetectionStatus.DONE
    detection.upload_sha256 = analysis.upload_sha256
    detection.media_kind = analysis.sample.kind
    detection.verdict = verdict.verdict
    detection.record_id = verdict.record_id
    detection.summary = _summary(analysis)
    detection.completed_at = timezone.now()
    detection.full_clean()
    detection.save()
    likeness = analysis.likeness
    if likeness.identity_id is not None and verdict.verdict == VerdictChoice.NONE:
        identity = Identity.objects.filter(pk=likeness.identity_id).first()
        if identity is not None:
            LikenessAlert.objects.create(
                owner_id=identity.owner_id,
                identity=identity,
                detection=detection,
                distance=float(likeness.distance or 0.0),
            )
    audit_record(
        action=AuditAction.DETECTION_CHECKED,
        actor=actor,
        subject_type="detection",
        subject_id=str(detection.pk),
        details={
            "upload_sha256": analysis.upload_sha256,
            "verdict": verdict.verdict,
            "record_id": verdict.record_id,
        },
    )
    return detection
