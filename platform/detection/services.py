"""Detection services: check a file, record the verdict, alert owners, keep only the hash.

`detection_run` checks a file at a path the caller owns (the CLI's argument) and never deletes
it. Uploads go through `detection_check_upload`, which stores the upload under a random name,
checks it (here, or in a worker for long clips) and deletes it whatever happens.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from core.keys import c2pa_signing_identity, secret_bytes
from jobs.selectors import output_record_by_id
from provenance.errors import MediaError, ProvenanceError
from provenance.manifest import ManifestReport, read_manifest
from provenance.media import MediaLimits, probe, sha256_file
from provenance.watermark import WatermarkDetection, detect_sampled

from . import registry
from .capacity import detection_pending_room_check, detection_slot
from .checks import FingerprintCheck, LikenessCheck, fingerprint_check, likeness_check
from .evidence import evidence_frames
from .models import Detection, DetectionStatus, LikenessAlert, VerdictChoice
from .sampling import SampledUpload, sample_upload
from .selectors import record_consent_status
from .verdict import Candidate, Verdict, decide_verdict

logger = logging.getLogger(__name__)

UPLOAD_FOLDER = "detection"  # under MEDIA_ROOT; files live there only while being checked
_CHUNK = 2**20


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
        """The keys `manage.py detect --json` prints, in the issue's order."""
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
class _Analysis:
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


def _analyse(path: str | os.PathLike[str]) -> _Analysis:
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
    likeness = likeness_check(sample.face_frame, registry.protected_descriptors())
    verdict = decide_verdict(
        upload_sha256=upload_sha256,
        sample=sample,
        watermark=watermark,
        manifest=manifest,
        fingerprint=fingerprint,
        entry_by_record=registry.entry_by_record,
        entry_by_manifest=registry.entry_by_manifest,
    )
    return _Analysis(
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


def _summary(analysis: _Analysis) -> dict:
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
            "faces": likeness.faces,
            "protected_identity": likeness.identity_id,
            "distance": None if likeness.distance is None else round(likeness.distance, 4),
            # Only without platform provenance is a protected face a possible misuse.
            "warning": likeness.identity_id is not None and verdict.verdict == VerdictChoice.NONE,
        },
        "evidence_frames": evidence_frames(sample, verdict),
        "seconds": round(analysis.seconds, 3),
    }


def _result(detection: Detection) -> DetectionResult:
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


def detection_result(*, detection: Detection) -> DetectionResult:
    """The result view of a stored detection (pending ones have an empty verdict)."""
    return _result(detection)


@transaction.atomic
def _record(detection: Detection, analysis: _Analysis, actor) -> Detection:
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
        from consent.models import Identity

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


def _requester(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def detection_run(*, path: str | os.PathLike[str], actor=None) -> DetectionResult:
    """Check the file at `path` (an image or a video, judged by its bytes) and record the verdict.

    Never deletes `path`. Raises provenance's MediaError (stable code, one-line message) for an
    unreadable, empty, truncated, unsupported or over-cap file; nothing is recorded then.
    """
    analysis = _analyse(path)
    detection = Detection(requested_by=_requester(actor), status=DetectionStatus.PENDING)
    return _result(_record(detection, analysis, actor))


def _store_upload(upload) -> tuple[Path, str]:
    """Write an uploaded file under MEDIA_ROOT with a random name, refusing it past the byte cap.

    The upload's own name is attacker-chosen and never used.
    """
    folder = Path(settings.MEDIA_ROOT) / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / secrets.token_hex(16)
    limit = settings.DETECTION_MAX_BYTES
    written = 0
    try:
        with open(path, "xb") as handle:
            for chunk in upload.chunks(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise MediaError(
                        f"the upload exceeds the cap of {limit} bytes", code="media_too_large"
                    )
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if written == 0:
        path.unlink(missing_ok=True)
        raise MediaError("the file is empty", code="empty_media")
    return path, str(path.relative_to(settings.MEDIA_ROOT))


def detection_check_upload(*, upload, actor=None) -> DetectionResult:
    """Check an uploaded file: images and clips up to DETECTION_SYNC_MAX_SECONDS now, longer
    clips in a worker (the result is then pending; poll the detection).

    The upload is deleted after its check (here, or by the worker), whatever the outcome. Raises
    ApplicationError("detection_busy", 503) when the platform runs its most checks at once.
    """
    with detection_slot():
        path, relative = _store_upload(upload)
        handed_over = False
        try:
            info = probe(path, detection_limits())  # headers and a demux pass: cheap, fails early
            if info.kind == "video" and info.duration_s > settings.DETECTION_SYNC_MAX_SECONDS:
                detection_pending_room_check()
                detection = _detection_enqueue(relative, sha256_file(path), actor)
                handed_over = True
                return _result(detection)
            return detection_run(path=path, actor=actor)
        finally:
            if not handed_over:
                path.unlink(missing_ok=True)


@transaction.atomic
def _detection_enqueue(relative: str, upload_sha256: str, actor) -> Detection:
    from .tasks import run_detection

    detection = Detection(
        requested_by=_requester(actor),
        status=DetectionStatus.PENDING,
        upload_sha256=upload_sha256,
        media_kind="video",
        pending_file=relative,
    )
    detection.full_clean()
    detection.save()
    detection_id = str(detection.pk)
    transaction.on_commit(lambda: run_detection.delay(detection_id))
    return detection


def detection_complete(*, detection_id: str) -> DetectionResult | None:
    """The worker's half of an asynchronous check: analyse the stored upload, record, delete it.

    Idempotent: a detection that is no longer pending (a redelivered task) is left alone.
    """
    detection = Detection.objects.select_related("requested_by").filter(pk=detection_id).first()
    if detection is None or detection.status != DetectionStatus.PENDING:
        return None
    path = Path(settings.MEDIA_ROOT) / detection.pending_file
    try:
        analysis = _analyse(path)
    except ProvenanceError as error:
        _fail(detection, error.code, error.message)
        return _result(detection)
    except Exception:
        # Never leave a detection pending forever: the poller sees a failure, the log the cause.
        logger.exception("detection %s failed", detection_id)
        _fail(detection, "server_error", "The check failed on our side; it has been logged.")
        return _result(detection)
    finally:
        path.unlink(missing_ok=True)
    detection.pending_file = ""
    return _result(_record(detection, analysis, detection.requested_by))


@transaction.atomic
def _fail(detection: Detection, code: str, message: str) -> None:
    detection.status = DetectionStatus.FAILED
    detection.failure_code = code
    detection.failure_message = message
    detection.pending_file = ""
    detection.completed_at = timezone.now()
    detection.save()
    audit_record(
        action=AuditAction.DETECTION_CHECKED,
        outcome="error",
        actor=detection.requested_by,
        subject_type="detection",
        subject_id=str(detection.pk),
        reason=message,
        details={"upload_sha256": detection.upload_sha256, "verdict": "", "record_id": None},
    )


def likeness_alerts_mark_seen(*, owner) -> int:
    """Mark the owner's unseen likeness alerts as seen; returns how many."""
    return LikenessAlert.objects.filter(owner=owner, seen_at__isnull=True).update(
        seen_at=timezone.now()
    )
