"""The two views of a detection: the public answer (never names the requester, the identity or
who asked) and the auditor's full record. Used by the API and the portal alike.

Whether a face matched a protected identity is not public: anyone could upload photos and learn
who is enrolled. The owner learns it from their likeness alert, auditors from their view."""

from __future__ import annotations

import math

from django.urls import reverse

from provenance.watermark import MAX_FALSE_POSITIVE

from .models import Detection, VerdictChoice

VERDICT_TEXT = {
    VerdictChoice.PLATFORM: "Made by this platform",
    VerdictChoice.ALTERED_COPY: "An altered copy of a platform output",
    VerdictChoice.NONE: "No platform provenance found",
}

C2PA_STATE_TEXT = {
    "trusted": "A valid manifest signed by this platform.",
    "untrusted": "A manifest signed by a certificate this platform did not issue.",
    "tampered": "A manifest that no longer matches the content; its failing checks:",
    "missing": "No C2PA manifest.",
}


def _public_record(facts: dict | None) -> dict | None:
    """A record's facts without whose likeness it shows (auditors see that)."""
    if facts is None:
        return None
    return {k: v for k, v in facts.items() if k != "identity_id"}


def bound_in_words(probability: float | None, identified: bool) -> str:
    """The false-positive bound as a sentence: "about 1 in 10^12 that an unmarked clip gives
    this", and whether that is enough to name a record (the bar is 1 in 10^9)."""
    needed = round(-math.log10(MAX_FALSE_POSITIVE))
    if probability is None or probability >= 1e-2:
        return "The watermark reads as unmarked media reads: no evidence of a platform mark."
    exponent = 300 if probability <= 0 else math.floor(-math.log10(probability))
    sentence = f"about 1 in 10^{exponent} that an unmarked clip gives this"
    if identified:
        return sentence[0].upper() + sentence[1:] + "."
    return (
        sentence[0].upper()
        + sentence[1:]
        + f": not enough to name a record (that needs 1 in 10^{needed})."
    )


def _timeline(watermark: dict, fps: float | None) -> list[dict]:
    """The watermark agreement of each frame the deciding look read, in clip order."""
    positions = watermark.get("frame_positions") or []
    agreement = watermark.get("frame_agreement") or []
    rate = fps if fps and fps > 0 else None
    return [
        {
            "frame": int(p),
            "second": round(p / rate, 2) if rate else None,
            "agreement": float(a),
            "percent": round(100 * float(a)),
        }
        for p, a in zip(positions, agreement, strict=False)
    ]


def _evidence_bound(watermark: dict, candidates: list[dict]) -> float | None:
    """The bound the page puts in words: the identification's, or the best partial evidence's."""
    if watermark.get("identified"):
        return watermark.get("false_positive_probability")
    bounds = [c["false_positive_bound"] for c in candidates if c.get("false_positive_bound")]
    if watermark.get("partial_record_id") is not None:
        bounds.append(watermark.get("partial_false_positive"))
    return min(bounds) if bounds else watermark.get("false_positive_probability")


def detection_public(detection: Detection) -> dict:
    """What anyone holding the detection's link may see."""
    summary = detection.summary or {}
    verdict = summary.get("verdict") or {}
    watermark = summary.get("watermark") or {}
    c2pa = summary.get("c2pa") or {}
    candidates = summary.get("candidates", [])
    media = summary.get("media") or {}
    bound = _evidence_bound(watermark, candidates)
    return {
        "id": str(detection.pk),
        "status": detection.status,
        "verdict": detection.verdict or None,
        "verdict_text": VERDICT_TEXT.get(detection.verdict, ""),
        "record": _public_record(summary.get("record")),
        # An altered copy no one record is proven for: the records it may come from, ranked.
        "candidates": [_public_record(c) for c in candidates],
        "evidence": verdict.get("evidence", []),
        "differences": verdict.get("differences", []),
        "watermark": {
            "identified": watermark.get("identified"),
            "payload": watermark.get("value_hex"),
            "confidence": watermark.get("confidence"),
            "false_positive_probability": watermark.get("false_positive_probability"),
            "method": watermark.get("method"),
            "reading": watermark.get("reading") or None,
            "frames_used": watermark.get("frames_used"),
            "evidence_bound": bound,
            "bound_text": bound_in_words(bound, bool(watermark.get("identified"))),
            "timeline": _timeline(watermark, media.get("fps")),
        },
        # One frame of the upload beside the registry frame it matched (or why there is none).
        "evidence_frames": summary.get("evidence_frames"),
        "c2pa": {
            "state": c2pa.get("state"),
            "codes": c2pa.get("codes", []),
            "state_text": C2PA_STATE_TEXT.get(c2pa.get("state") or "", ""),
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
    """The public answer plus what only auditors may see: the protected-likeness warning and
    whose likeness each ranked candidate shows."""
    summary = detection.summary or {}
    likeness = summary.get("likeness") or {}
    return {
        **detection_public(detection),
        "candidates": list(summary.get("candidates", [])),
        "protected_likeness_warning": bool(likeness.get("warning")),
    }


TIMELINE_HEIGHT, TIMELINE_STEP, TIMELINE_BAR = 64, 14, 10  # px of the evidence page's chart


def timeline_bars(result: dict) -> dict:
    """The agreement timeline as bar geometry for the page's small SVG chart (no script)."""
    timeline = (result.get("watermark") or {}).get("timeline") or []
    bars = []
    for index, point in enumerate(timeline):
        height = round(TIMELINE_HEIGHT * point["agreement"])
        colour = "#2a7" if point["percent"] >= 75 else "#ca3" if point["percent"] > 50 else "#b33"
        y = TIMELINE_HEIGHT - height
        bars.append(
            {**point, "x": index * TIMELINE_STEP, "y": y, "height": height, "colour": colour}
        )
    return {
        "bars": bars,
        "width": max(1, len(bars) * TIMELINE_STEP),
        "height": TIMELINE_HEIGHT,
        "bar_width": TIMELINE_BAR,
        "chance_y": TIMELINE_HEIGHT // 2,
    }
