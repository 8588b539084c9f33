"""The worker's run of one generation job: claim it, re-check ticket and consent, render,
watermark, sign through provenance.publish, and register the output.

`job_run` is what the Celery task does; it is the only code path that writes a generated video,
and it writes it only through provenance.publish. It may run again for the same job (redelivery,
the reaper): a final job is skipped, a job another live attempt owns is reported busy.
"""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.selectors import grant_active_for, receipt_for_grant
from core.errors import ApplicationError
from core.keys import c2pa_signing_identity, public_key, secret_bytes
from generator.audio import load_audio
from generator.config import RenderConfig
from generator.errors import GeneratorError
from generator.face_analysis import analyse_portrait, load_image
from generator.pipeline import render
from policy.errors import TicketError
from policy.tickets import verify_ticket
from provenance.errors import ProvenanceError
from provenance.manifest import Ingredient, ManifestInfo
from provenance.media import AudioTrack
from provenance.payload import payload_for_record
from provenance.publish import publish
from provenance.watermark import mark_appearance

from . import inputs
from .controls import controls_from
from .errors import JobRefusedError
from .finish import job_fail, job_finish, output_record_save
from .models import GenerationJob, JobStage, JobStatus, OutputRecord
from .progress import JobCancelledError, ProgressWriter


@dataclass(frozen=True)
class RunOutcome:
    """What one task execution did, for the task's log and the demo's timings."""

    job_id: int
    status: str  # done | failed | cancelled | skipped | busy
    analyse_ms: float = 0.0
    render_seconds: float = 0.0  # first frame request to last frame encoded
    publish_seconds: float = 0.0  # ticket check to signed file on disk
    frames: int = 0
    phases: dict | None = None  # seconds per step, in order


def _claim(job_id: int) -> tuple[GenerationJob | None, str, str]:
    """Take ownership of the job for this attempt. Returns (job, token, outcome) where job is None
    when there is nothing to do (final already) or another live attempt owns it (busy)."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None, "", "skipped"
        if job.is_final:
            return None, "", "skipped"
        if OutputRecord.objects.filter(job_id=job_id).exists():
            # Crashed between the record and the status write (impossible in one transaction,
            # but cheap to be sure): the output exists, so the job is done.
            job_finish(job, status=JobStatus.DONE, code="", reason="", now=timezone.now())
            return None, "", "skipped"
        lease = timedelta(seconds=settings.JOBS_LEASE_SECONDS)
        heartbeat = job.progress_at or job.started_at
        if job.status == JobStatus.RUNNING and heartbeat and timezone.now() - heartbeat < lease:
            return None, "", "busy"
        token = secrets.token_hex(16)
        job.status = JobStatus.RUNNING
        job.stage = JobStage.QUEUED
        job.run_token = token
        job.attempts += 1
        job.frames_done = 0
        job.progress = 0.0
        job.started_at = job.started_at or timezone.now()
        job.progress_at = timezone.now()
        job.save(
            update_fields=[
                "status",
                "stage",
                "run_token",
                "attempts",
                "frames_done",
                "progress",
                "started_at",
                "progress_at",
            ]
        )
    return job, token, "claimed"


def _consent_still_holds(job: GenerationJob) -> None:
    """Raise JobRefusedError(cancel=True) unless the job's grant is still the active one and the
    row still belongs to a running attempt."""
    fresh = GenerationJob.objects.select_related("identity", "requester").get(pk=job.pk)
    if fresh.status != JobStatus.RUNNING or fresh.run_token != job.run_token:
        raise JobRefusedError(
            fresh.failure_reason or "The job was cancelled.",
            code=fresh.failure_code or "job_cancelled",
            cancel=True,
        )
    grant = grant_active_for(
        identity=fresh.identity, requester=fresh.requester, purpose=job.purpose
    )
    # A new version of the same consent that still covers this requester and purpose keeps the
    # job alive; revocation, expiry, or a scope change that drops them stops it.
    if grant is None or grant.series != job.grant.series:
        raise JobRefusedError(
            "The consent for this job is no longer active.", code="consent_revoked", cancel=True
        )


def _verify_ticket(job: GenerationJob) -> None:
    try:
        portrait_sha = inputs.file_sha256(job.portrait_file)
        audio_sha = inputs.file_sha256(job.audio_file)
    except (OSError, ApplicationError) as error:
        # Inputs go when a job ends: a cancellation that landed just after this attempt claimed
        # the job has removed them already.
        raise JobRefusedError(
            "The job's inputs are no longer stored.", code="input_missing"
        ) from error
    # The ticket gates the start of a job. A redelivery after a crashed attempt is judged at the
    # moment the first attempt started, so a long queue or a crash never needs a new ticket;
    # consent itself is re-checked live at every start and before signing.
    moment = job.started_at if job.attempts > 1 and job.started_at else timezone.now()
    try:
        verify_ticket(
            job.ticket,
            lambda key_id: public_key("ticket", key_id),
            portrait_sha256=portrait_sha,
            audio_sha256=audio_sha,
            job_id=job.pk,
            now=moment,
        )
    except TicketError as error:
        raise JobRefusedError(error.message, code=error.code) from error


def _manifest_info(job: GenerationJob):
    receipt = receipt_for_grant(grant=job.grant)
    return ManifestInfo(
        title=f"Talking-face video {job.pk}",
        record_id=job.pk,
        consent_receipt_id=str(getattr(receipt, "receipt_id", "") or ""),
        decision_id=job.decision_id,
        generator_version=settings.JOBS_GENERATOR_VERSION,
        ingredients=(
            Ingredient("portrait", job.portrait_sha256, job.portrait_mime or "image/png"),
            Ingredient("speech", job.audio_sha256, job.audio_mime or "audio/wav"),
        ),
    )


def job_run(*, job_id: int) -> RunOutcome:
    """Run one job to a signed, registered output, or to failed/cancelled with a reason.

    Safe to call again for the same job (redelivery, retry): a final job is left alone, a job
    another live attempt owns is reported busy, and a new attempt first removes whatever an
    interrupted one left in the job's output folder.
    """
    job, token, outcome = _claim(job_id)
    if job is None:
        return RunOutcome(job_id=job_id, status=outcome)
    try:
        return _run_claimed(job)
    except JobRefusedError as error:
        job_fail(job=job, error=error)
        return RunOutcome(job_id=job_id, status="cancelled" if error.cancel else "failed")
    except JobCancelledError:
        job_fail(
            job=job,
            error=JobRefusedError("The job was cancelled.", code="job_cancelled", cancel=True),
        )
        return RunOutcome(job_id=job_id, status="cancelled")
    except (GeneratorError, ProvenanceError) as error:
        job_fail(job=job, error=JobRefusedError(error.message, code=error.code))
        return RunOutcome(job_id=job_id, status="failed")


def _run_claimed(job: GenerationJob) -> RunOutcome:
    started = time.perf_counter()
    writer = ProgressWriter(job.pk, job.run_token, job.frames_total)
    out_dir = inputs.job_output_dir(job.pk)
    shutil.rmtree(out_dir, ignore_errors=True)  # leftovers of an interrupted attempt
    out_dir.mkdir(parents=True, exist_ok=True)

    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 3)
        mark = now

    _verify_ticket(job)
    _consent_still_holds(job)
    phase("ticket_and_consent")

    writer.stage(JobStage.ANALYSING)
    image = load_image(str(inputs.media_path(job.portrait_file)))
    analysis = analyse_portrait(image)
    phase("analyse")
    writer.stage(JobStage.ANALYSING, within=0.3)
    clip = load_audio(
        str(inputs.media_path(job.audio_file)),
        max_seconds=settings.JOBS_MAX_AUDIO_DECODE_SECONDS,
    )
    phase("audio")
    payload = payload_for_record(job.pk, secret_bytes("watermark"))
    marked = mark_appearance(analysis.aligned, payload)
    phase("watermark_appearance")
    writer.stage(JobStage.ANALYSING, within=0.9)
    config = RenderConfig()
    controls = controls_from(job.controls)
    frames = render(analysis, clip, controls, config, appearance=marked)
    phase("visemes")
    writer.stage(JobStage.RENDERING)

    def before_sign() -> None:
        phase("watermark_check")
        _consent_still_holds(job)
        writer.stage(JobStage.SIGNING)

    render_start = time.perf_counter()
    render_end = render_start

    def on_frame(count: int) -> None:
        nonlocal render_end
        render_end = time.perf_counter()
        writer.frame(count)
        if count == job.frames_total:
            phase("render_and_encode")

    out_path = out_dir / f"{secrets.token_hex(12)}.mp4"
    published = publish(
        frames,
        AudioTrack(samples=clip.samples, sample_rate=clip.sample_rate),
        payload,
        _manifest_info(job),
        out_path,
        signer=c2pa_signing_identity(),
        watermark_key=secret_bytes("watermark"),
        fps=config.fps,
        on_frame=on_frame,
        before_sign=before_sign,
    )
    phase("sign")
    outcome = RunOutcome(
        job_id=job.pk,
        status="done",
        analyse_ms=round(phases["analyse"] * 1000, 1),
        render_seconds=round(render_end - render_start, 3),
        publish_seconds=round(time.perf_counter() - started, 3),
        frames=published.frames,
        phases=phases,
    )
    try:
        _record_output(job, published, outcome)
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return outcome


@transaction.atomic
def _record_output(job: GenerationJob, published, outcome: RunOutcome) -> OutputRecord:
    """Write the registry record and finish the job, if this attempt still owns a running job
    whose consent holds (the row lock orders us against job_revocation_apply)."""
    fresh = GenerationJob.objects.select_for_update().select_related("grant").get(pk=job.pk)
    if fresh.status != JobStatus.RUNNING or fresh.run_token != job.run_token:
        raise JobCancelledError(f"job {job.pk} was taken from this attempt")
    _consent_still_holds(job)
    now = timezone.now()
    record = output_record_save(job=fresh, published=published, published_at=now)
    fresh.frames_done = published.frames
    fresh.timings = {
        "analyse_ms": outcome.analyse_ms,
        "render_seconds": outcome.render_seconds,
        "publish_seconds": outcome.publish_seconds,
        "frames": outcome.frames,
        "phases": outcome.phases or {},
    }
    fresh.save(update_fields=["frames_done", "timings"])
    job_finish(fresh, status=JobStatus.DONE, code="", reason="", now=now)
    audit_record(
        action=AuditAction.JOB_PUBLISHED,
        subject_type="job",
        subject_id=fresh.pk,
        details={
            "record_id": fresh.pk,
            "identity_id": fresh.identity_id,
            "requester_id": fresh.requester_id,
            "grant_id": fresh.grant_id,
            "file_sha256": published.file_sha256,
            "manifest_id": published.manifest_id,
        },
    )
    return record
