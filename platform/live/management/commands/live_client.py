"""`manage.py live_client`: a real WebRTC client for the live API, and the live benchmark.

It sends --audio as the microphone (paced in real time), receives the talking face, stops the
session and prints, as its last line with --json: first_frame_ms (first audio packet at the
node -> first video frame leaving it, measured by the node), glass_to_glass_ms_p50/_p95, fps,
dropped_frames, record_id.

Glass-to-glass timestamps: each audio frame handed to the sender is noted as (position in the
file, wall time); the node stamps frame i with RTP time i x 90000 / fps, its place in the audio;
a decoded frame's RTP time relative to the first gives i, and its delay is (decode wall time) -
(wall time the audio at (i + 0.5) / fps was sent). See live.client for what that includes.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from live.client import LiveClientError, run_session


class Command(BaseCommand):
    help = "Run one live session with an audio file as the microphone; print its figures."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--portrait-identity", type=int, required=True, dest="identity")
        parser.add_argument("--audio", required=True)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--purpose", default="personal")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
        parser.add_argument(
            "--url", default=os.environ.get("LIVE_API_URL", "http://127.0.0.1:8000")
        )
        parser.add_argument(
            "--token", default=os.environ.get("LIVE_API_TOKEN", ""), help="API token (or env)"
        )

    def handle(self, *args, **options) -> None:
        audio = Path(options["audio"])
        if not audio.is_file():
            raise CommandError(f"no such audio file: {audio}")
        if not options["token"]:
            raise CommandError("an API token is needed: --token or LIVE_API_TOKEN")
        try:
            result = asyncio.run(
                run_session(
                    base_url=options["url"].rstrip("/"),
                    token=options["token"],
                    identity=options["identity"],
                    audio=str(audio),
                    purpose=options["purpose"],
                    seconds=options["seconds"],
                )
            )
        except LiveClientError as error:
            raise CommandError(f"{error.code}: {error}") from error
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
