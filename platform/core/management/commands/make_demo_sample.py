"""`python manage.py make_demo_sample [--out-dir DIR]`: a portrait and a speech clip to try.

The portrait is scikit-image's astronaut photo (Eileen Collins, a NASA public-domain image); the
speech is spoken by espeak-ng. Nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from skimage import data

SAMPLE_TEXT = (
    "Hello. This video was made with my consent. "
    "It carries an invisible watermark and a signed manifest, "
    "so anyone can check where it came from."
)


class Command(BaseCommand):
    help = "Write var/sample/portrait.png and var/sample/speech.wav for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--out-dir", default=str(Path(settings.VAR_DIR) / "sample"))

    def handle(self, *args, **options):
        out_dir = Path(options["out_dir"])
        out_dir.mkdir(parents=True, exist_ok=True)
        portrait = out_dir / "portrait.png"
        speech = out_dir / "speech.wav"
        if not portrait.exists():
            cv2.imwrite(str(portrait), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
        if not speech.exists():
            espeak = shutil.which("espeak-ng")
            if espeak is None:
                raise CommandError("espeak-ng is not installed (make install provides it)")
            subprocess.run(
                [espeak, "-v", "en-us", "-s", "150", "-w", str(speech), SAMPLE_TEXT],
                check=True,
                capture_output=True,
                timeout=60,
            )
        self.stdout.write(f"{portrait}\n{speech}")
