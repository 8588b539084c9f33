"""Is the verification clip one of the platform's own generated videos?

A live recording made in the browser carries neither a C2PA manifest nor the platform's
watermark; a generated video of the owner reading the code carries both (or the watermark
alone, once re-encoded). The checks are the platform's own: `provenance.manifest.read_manifest`
and `provenance.watermark.detect_file`, which decodes only the few frames detection reads.
"""

from __future__ import annotations

from pathlib import Path

from provenance.errors import ProvenanceError
from provenance.manifest import read_manifest
from provenance.watermark import detect_file

# The first two of detection's three looks (6, then 16 frames): enough for an output uploaded as
# it was published or re-encoded once; the third (48 frames) is for heavily attacked copies and
# would triple the cost of every verification.
WATERMARK_LOOKS = 2


def platform_output_failures(
    original: Path, steady: Path, steady_fps: float, *, watermark_key: bytes, trust_anchor: bytes
) -> list[tuple[str, str]]:
    """(code, message) for each sign that the clip is a platform output; empty when none.

    `original` is the file as uploaded, `steady` its constant-rate copy (for a browser recording,
    whose variable frame rate the prober refuses, the watermark is read from that copy).
    """
    failures: list[tuple[str, str]] = []
    try:
        report = read_manifest(original, trust_anchor)
        manifest = report.state
        if any("NotSupported" in code for code in report.codes):
            manifest = "missing"  # a format C2PA cannot carry (WebM): nothing was signed
    except ProvenanceError:
        manifest = "missing"  # the prober refuses it (a browser's WebM): no manifest to read
    if manifest != "missing":
        failures.append(
            (
                "c2pa_manifest",
                "The file carries a content-credentials (C2PA) manifest"
                + (" signed by this platform" if manifest == "trusted" else "")
                + ": it is a generated or edited video, not a live recording.",
            )
        )
    if _watermarked(original, steady, steady_fps, watermark_key):
        failures.append(
            (
                "platform_watermark",
                "The video carries this platform's watermark: it is a generated video, "
                "not a live recording of you.",
            )
        )
    return failures


def _watermarked(original: Path, steady: Path, steady_fps: float, key: bytes) -> bool:
    """Blind detection (identifies at a false-positive bound of 1e-9, any record) on the
    original when the prober accepts it (an output's own frames), else on the steady copy."""
    for path, fps in ((original, None), (steady, steady_fps)):
        try:
            return detect_file(path, key, fps=fps, max_looks=WATERMARK_LOOKS).identified
        except ProvenanceError:
            continue  # the prober refuses it, or it lacks frames its header promised
    return False
