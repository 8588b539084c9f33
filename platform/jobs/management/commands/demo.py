"""`python manage.py demo --portrait P --audio A --out OUT.mp4 [--job-portrait Q] [--json]`

Runs the real flow on the configured database: a demo owner enrolled from P, verified by the demo
verifier (logged as a demo approval), a consent grant naming the approved demo requester, then a
job through the real policy, ticket and Celery task, writing OUT.mp4 (the signed file itself).
Exit codes: 0 done, 1 bad input or failed job, 3 denied by the policy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from accounts.models import User
from accounts.services import demo_accounts_seed
from config.celery_app import app
from consent import portraits as consent_portraits
from consent import services as consent_services
from consent import verification as consent_verification
from consent.models import Identity, IdentityStatus
from consent.scope import GrantScope
from consent.selectors import grant_active_for, receipt_for_grant
from core.errors import USER_FACING_ERRORS
from generator.config import EMOTIONS
from generator.face_analysis import load_image
from jobs import services
from jobs.tasks import load_job_models
from provenance.media import AudioTrack, Mp4Writer

DEMO_PURPOSE = "news_explainer"
DEMO_IDENTITY_NAME = "Olivia Owner (demo)"
CLIP_SECONDS = 4.0  # the verification clip's shortest length, within the bounds
VERIFY_ATTEMPTS = (
    3  # fresh codes to try: the speech recogniser misses a synthetic digit now and then
)
# espeak-ng's voice the recogniser hears best (measured: 9 of 12 random codes exactly).
DEMO_VOICE = ("-v", "en-us+f2", "-s", "140")
EXIT_DENIED = 3


class Command(BaseCommand):
    help = "Run one real generation end to end (consent, policy, ticket, task) into OUT.mp4."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--portrait", required=True, help="the consenting person's portrait")
        parser.add_argument("--audio", required=True, help="the speech clip")
        parser.add_argument("--out", required=True, help="where to write the signed MP4")
        parser.add_argument(
            "--job-portrait", help="a portrait for this job (must show the same person)"
        )
        parser.add_argument("--json", action="store_true", help="end with a JSON summary line")
        parser.add_argument(
            "--use-worker",
            action="store_true",
            help="wait for a running Celery worker instead of running the task here",
        )
        parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait")

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        portrait = _existing_file(options["portrait"], "portrait")
        audio = _existing_file(options["audio"], "audio")
        job_portrait = (
            _existing_file(options["job_portrait"], "job portrait")
            if options["job_portrait"]
            else None
        )
        out = Path(options["out"]).resolve()
        if out.suffix.lower() != ".mp4":
            raise CommandError(f"--out must end in .mp4, got {out.name}")
        out.parent.mkdir(parents=True, exist_ok=True)

        try:
            requester, identity, grant = _demo_consent(portrait, self._say)
            job = _demo_submit(requester, identity, audio, job_portrait, options)
        except _Denied as denied:
            for reason in denied.reasons:
                self.stderr.write(f"denied: {reason.code}: {reason.message}")
            if options["json"]:
                self.stdout.write(
                    json.dumps({"denied": True, "reasons": [r.code for r in denied.reasons]})
                )
            sys.exit(EXIT_DENIED)
        except USER_FACING_ERRORS as error:
            raise CommandError(f"{error.code}: {error.message}") from error

        self._say(f"job {job.pk} submitted (decision {job.decision_id})")
        job = _wait_for(job, use_worker=options["use_worker"], timeout=options["timeout"])
        if job.status != "done":
            raise CommandError(
                f"job {job.pk} {job.status}: {job.failure_code}: {job.failure_reason}"
            )
        record = job.output
        _copy_atomically(Path(settings.MEDIA_ROOT) / record.file_path, out)
        receipt_path = _write_receipt(grant, out)
        timings = job.timings
        summary = {
            "record_id": record.pk,
            "payload": record.payload_hex,
            "frames": record.frames,
            "analyse_ms": timings.get("analyse_ms"),
            "render_fps": _rate(record.frames, timings.get("render_seconds")),
            "publish_fps": _rate(record.frames, timings.get("publish_seconds")),
            "total_seconds": round(time.perf_counter() - started, 2),
            "receipt_path": str(receipt_path),
            "out": str(out),
        }
        self._say(
            f"wrote {out} ({record.frames} frames, watermark {record.payload_hex}, "
            f"manifest {record.manifest_id})"
        )
        if options["json"]:
            self.stdout.write(json.dumps(summary))

    def _say(self, line: str) -> None:
        self.stderr.write(line)


class _Denied(Exception):
    def __init__(self, reasons) -> None:
        super().__init__("denied")
        self.reasons = reasons


def _existing_file(value: str, label: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise CommandError(f"{label} file not found: {value}")
    return path


def _rate(frames: int, seconds) -> float | None:
    return round(frames / seconds, 1) if seconds else None


def _demo_consent(portrait: Path, say):
    """The demo accounts, an identity enrolled from `portrait` and verified, and its grant;
    reused when they already exist for this very portrait."""
    demo_accounts_seed()
    owner = User.objects.get(username="demo-owner")
    verifier = User.objects.get(username="demo-verifier")
    requester = User.objects.get(username="demo-requester")
    data = portrait.read_bytes()
    digest = hashlib.sha256(data).hexdigest()

    identity = (
        Identity.objects.filter(
            owner=owner, portraits__sha256=digest, biometric_deleted_at__isnull=True
        )
        .order_by("-created_at")
        .first()
    )
    if identity is None:
        identity = consent_services.identity_create(owner=owner, display_name=DEMO_IDENTITY_NAME)
        consent_portraits.portrait_enrol(
            identity=identity, owner=owner, data=data, filename=portrait.name
        )
        identity.refresh_from_db()
        say(f"enrolled identity {identity.pk} from {portrait.name}")
    if identity.status != IdentityStatus.VERIFIED:
        _demo_verify(identity, owner, verifier, data)
        identity.refresh_from_db()
        say(f"identity {identity.pk} verified (demo approval)")

    grant = grant_active_for(identity=identity, requester=requester, purpose=DEMO_PURPOSE)
    if grant is None:
        grant = consent_services.consent_grant(
            identity=identity,
            owner=owner,
            scope=GrantScope(
                requesters=[requester],
                organisations=[],
                purposes=[DEMO_PURPOSE],
                max_clip_seconds=min(120, settings.CONSENT_GRANT_MAX_CLIP_SECONDS),
                allowed_emotions=list(EMOTIONS),
                allow_download=True,
            ),
        )
        say(f"consent grant {grant.pk} names demo-requester for {DEMO_PURPOSE}")
    return requester, identity, grant


def _demo_verify(identity, owner, verifier, portrait_bytes: bytes) -> None:
    """Identity verification with a clip made from the portrait, approved by the demo verifier.

    A person reads the statement on camera in the real journey; the demo has no person, so the
    clip is the portrait gently moving while espeak-ng reads the one-time code, uploaded
    (uploads are allowed for this command only). It passes the same automatic checks as any
    clip (motion, speech, the code heard), and the verifier's reason says plainly that this was
    a demo approval. The recogniser may miss a synthetic digit: then a fresh code is tried.
    """
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        verification = consent_verification.verification_start(identity=identity, owner=owner)
        with tempfile.TemporaryDirectory() as folder:
            clip = Path(folder) / "statement.mp4"
            _speaking_clip(portrait_bytes, verification.code, clip)
            with override_settings(CONSENT_ALLOW_CLIP_UPLOAD=True):
                verification = consent_verification.verification_submit_clip(
                    verification=verification, owner=owner, data=clip.read_bytes(), source="upload"
                )
        if verification.status == "pending_review":
            break
        codes = verification.checks.get("failure_codes", [])
        if codes != ["code_not_spoken"] or attempt == VERIFY_ATTEMPTS:
            failures = "; ".join(verification.checks.get("failures", [])) or verification.status
            raise CommandError(f"the demo verification clip failed its checks: {failures}")
    consent_verification.verification_review(
        verification=verification,
        verifier=verifier,
        approve=True,
        reason="Demo approval: `manage.py demo` enrolled and verified this identity from its "
        "sample portrait; no person read the statement.",
    )


def _speaking_clip(portrait_bytes: bytes, code: str, path: Path) -> None:
    """The portrait swaying and turning a little while espeak-ng reads `code` (H.264 + AAC)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise CommandError("espeak-ng is not installed (make install provides it)")
    speech = path.with_suffix(".wav")
    sentence = f"My one-time code is {' '.join(code)}."
    subprocess.run([espeak, *DEMO_VOICE, "-w", str(speech), sentence], check=True)
    with wave.open(str(speech)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    image = load_image(portrait_bytes)  # (H, W, 3)
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    image = np.ascontiguousarray(image[:height, :width])
    fps = 10
    count = int(max(CLIP_SECONDS, len(samples) / rate + 0.5) * fps)
    audio = AudioTrack((samples / 32768.0).astype(np.float32), rate)
    with Mp4Writer(path, width=width, height=height, fps=fps, audio=audio) as writer:
        for index in range(count):
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 3 * np.sin(index / 5), 1.0)
            matrix[0, 2] += 0.01 * width * np.sin(index / 4)
            writer.write(
                cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
            )


def _demo_submit(requester, identity, audio: Path, job_portrait: Path | None, options):
    eager_before = app.conf.task_always_eager
    if not options["use_worker"]:
        # Eager: the real task runs in this process when the submission commits. This process
        # plays the worker, so it loads the models first, as a worker does when it starts.
        load_job_models()
        app.conf.task_always_eager = True
    try:
        return services.job_submit(
            requester=requester,
            identity=identity,
            purpose=DEMO_PURPOSE,
            audio_file=audio,
            portrait_file=job_portrait,
            controls={"emotion": "neutral", "seed": 0},
        )
    except services.PolicyDenied as denied:
        raise _Denied(denied.reasons) from denied
    finally:
        app.conf.task_always_eager = eager_before


def _wait_for(job, *, use_worker: bool, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.is_final:
            return job
        if not use_worker:
            raise CommandError(f"job {job.pk} is {job.status} after the eager run")
        if time.monotonic() > deadline:
            raise CommandError(f"job {job.pk} still {job.status} after {timeout:.0f} s")
        time.sleep(0.5)


def _copy_atomically(source: Path, out: Path) -> None:
    """Copy the signed file byte for byte (the manifest stays valid) and rename into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_receipt(grant, out: Path) -> Path:

    receipt = receipt_for_grant(grant=grant)
    path = out.with_name(out.stem + ".receipt.json")
    path.write_text(json.dumps(receipt.document if receipt else {}, indent=2, sort_keys=True))
    return path
