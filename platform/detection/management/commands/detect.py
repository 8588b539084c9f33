"""`python manage.py detect FILE [--json]`: check one file, print the verdict.

Exit 0 for any verdict; non-zero with one line on stderr for unreadable input. With --json the
last line of stdout is one JSON object (verdict, record_id, payload, watermark_confidence,
false_positive_probability, c2pa_state, fingerprint_distance, protected_identity, seconds).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from detection.presenters import VERDICT_TEXT
from detection.services import detection_run
from provenance.errors import ProvenanceError


class Command(BaseCommand):
    help = "Check an image or video for platform provenance (watermark, C2PA, fingerprint, face)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the image or video to check")
        parser.add_argument("--json", action="store_true", help="end with one JSON line")

    def handle(self, *args, **options):
        try:
            result = detection_run(path=options["file"])
        except ProvenanceError as error:
            raise CommandError(f"cannot check {options['file']}: {error.message}") from error
        if options["json"]:
            self.stdout.write(json.dumps(result.cli_json()))
            return
        summary = result.summary
        lines = [f"verdict: {result.verdict} ({VERDICT_TEXT.get(result.verdict, '')})"]
        if result.record_id is not None:
            record = summary.get("record") or {}
            lines.append(
                f"record: {result.record_id}, published {record.get('published_at', '?')}, "
                f"consent {record.get('consent_status', '?')}"
            )
        for difference in (summary.get("verdict") or {}).get("differences", []):
            lines.append(f"differs: {difference}")
        lines.append(
            f"watermark: confidence {result.watermark_confidence:.2f}, "
            f"false-positive probability {result.false_positive_probability:.3g}"
        )
        lines.append(f"c2pa: {result.c2pa_state}")
        lines.append(f"fingerprint distance: {result.fingerprint_distance}")
        if (summary.get("likeness") or {}).get("warning"):
            lines.append(f"warning: protected likeness (identity {result.protected_identity})")
        lines.append(f"seconds: {result.seconds:.2f}")
        self.stdout.write("\n".join(lines))
