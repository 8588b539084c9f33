"""The two views of a detection: the public answer (never names the requester, the identity or
who asked) and the auditor's full record. Used by the API and the portal alike.

Whether a face matched a protected identity is not public: anyone could upload photos and learn
who is enrolled. The owner learns it from their likeness alert, auditors from their view."""

from __future__ import annotations

from django.urls import reverse

from .models import Detection, VerdictChoice

VERDICT_TEXT = {
    VerdictChoice.PLATFORM: "Made by this platform",
    VerdictChoice.ALTERED_COPY: "An altered copy of a platform output",
    VerdictChoice.NONE: "No platform provenance found",
}


def _public_record(facts: dict | None) -> dict | None:
    """A record's facts without whose likeness it shows (auditors see that)."""
    if facts is None:
        return None
    return {k: v for k, v in facts.items() if k != "identity_id"}


def detection_public(detection: Detection) -> dict:
    """What anyone holding the detection's link may see."""
    summary = detection.summary or {}
    verdict = summary.get("verdict") or {}
    watermark = summary.get("watermark") or {}
    c2pa = summary.get("c2pa") or {}
    return {
        "id": str(detection.pk),
        "status": detection.status,
        "verdict": detection.verdict or None,
        "verdict_text": VERDICT_TEXT.get(detection.verdict, ""),
        "record": _public_record(summary.get("record")),
        # An altered copy no one record is proven for: the records it may come from, ranked.
        "candidates": [_public_record(c) for c in summary.get("candidates", [])],
        "evidence": verdict.get("evidence", []),
        "differences": verdict.get("differences", []),
        "watermark": {
            "identified": watermark.get("identified"),
            "payload": watermark.get("value_hex"),
            "confidence": watermark.get("confidence"),
            "false_positive_probability": watermark.get("false_positive_probability"),
            "method": watermark.get("method"),
        },
        "c2pa": {
            "state": c2pa.get("state"),
            "codes": c2pa.get("codes", []),
            "manifest_id": c2pa.get("manifest_id"),
            "actions": c2pa.get("actions", []),
            "digital_source_type": c2pa.get("digital_source_type"),
            "soft_binding": c2pa.get("soft_binding"),
        },
        "fingerprint_distance": (summary.get("fingerprint") or {}).get("distance"),
        "media": summary.get("media"),
        "upload_sha256": detection.upload_sha256,
        "seconds": summary.get("seconds"),
        "failure": (
            {"code": detection.failure_code, "message": detection.failure_message}
            if detection.failure_code
            else None
        ),
        "poll_url": reverse("api-detection-detail", args=[detection.pk]),
        "page_url": reverse("detection:verdict", args=[detection.pk]),
    }


def detection_for_auditor(detection: Detection) -> dict:
    """The public answer plus what only auditors may see: the protected-likeness warning."""
    likeness = (detection.summary or {}).get("likeness") or {}
    return {
        **detection_public(detection),
        "protected_likeness_warning": bool(likeness.get("warning")),
    }
