"""Writes for generation jobs: submit (policy + ticket), revocation, and the one run.

`job_submit` is where a request meets the policy: inputs are stored and hashed, the job's
portrait is compared with the identity's reference face, every fact goes into
policy.decisions.decide, and the decision is audit-logged whatever it is. Only an allowed
decision makes a job, a signed ticket and (after commit) a Celery task.
`job_run` is what that task does; it is the only code path that writes a generated video, and
it writes it only through provenance.publish.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.selectors import requester_is_approved
from audit.actions import AuditAction
from audit.services import audit_record
from core.errors import ApplicationError
from core.image_shape import portrait_shape_check
from core.keys import c2pa_signing_identity, public_key, secret_bytes, signing_key
from generator.config import Controls, RenderConfig
from generator.errors import GeneratorError
from policy.decisions import (
    Decision,
    DecisionContext,
    PolicyLimits,
    RequesterFacts,
    decide,
)
from policy.errors import TicketError
from policy.tickets import issue_ticket, ticket_claims, verify_ticket
from provenance.errors import ProvenanceError

from . import inputs
from .models import ACTIVE_STATUSES, GenerationJob, JobStage, JobStatus, OutputRecord
from .progress import JobCancelledError, ProgressWriter

logger = logging.getLogger(__name__)

AUDIO_SUFFIX = ".audio"
PORTRAIT_SUFFIX = ".portrait"


class PolicyDenied(ApplicationError):
    """The policy said no; `reasons` are policy.decisions.Reason values, in rule order."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("policy_denied", decision.denial_message, status_code=403)
        self.decision = decision
        self.reasons = decision.reasons


# --- submit ---------------------------------------------------------------------------------


def controls_from(value: Controls | Mapping) -> Controls:
    """Controls from a dataclass or a plain mapping (form / API), checked by the generator."""
    if isinstance(value, Controls):
        controls = value
    else:
        data = dict(value)
        gaze = data.get("gaze", (0.0, 0.0))
        try:
            controls = Controls(
                gaze=(float(gaze[0]), float(gaze[1])),
                head_distance=float(data.get("head_distance", 1.0)),
                emotion=str(data.get("emotion", "neutral")),
                intensity=float(data.get("intensity", 1.0)),
                seed=int(data.get("seed", 0)),
            )
        except (TypeError, ValueError, IndexError) as error:
            raise ApplicationError("invalid_controls", f"Invalid controls: {error}") from error
    try:
        return controls.validated()
    except GeneratorError as error:
        raise ApplicationError(error.code, error.message) from error


def controls_as_dict(controls: Controls) -> dict:
    data = asdict(controls)
    data["gaze"] = list(controls.gaze)
    return data


@dataclass(frozen=True)
class _PortraitFacts:
    stored: inputs.StoredInput
    is_reference: bool
    descriptors: tuple[tuple[float, ...], ...]
    mime: str


def _policy_limits() -> PolicyLimits:
    from provenance.publish import min_publish_frames

    defaults = PolicyLimits()
    return PolicyLimits(
        # Shorter speech renders too few frames to carry the whole watermark: refused up front,
        # not after a worker has rendered it.
        min_audio_seconds=min_publish_frames() / RenderConfig().fps,
        max_audio_seconds=float(
            getattr(settings, "POLICY_MAX_AUDIO_SECONDS", defaults.max_audio_seconds)
        ),
        face_match_threshold=float(
            getattr(settings, "POLICY_FACE_MATCH_THRESHOLD", defaults.face_match_threshold)
        ),
        requester_daily_quota=int(
            getattr(settings, "POLICY_REQUESTER_DAILY_QUOTA", defaults.requester_daily_quota)
        ),
        identity_daily_quota=int(
            getattr(settings, "POLICY_IDENTITY_DAILY_QUOTA", defaults.identity_daily_quota)
        ),
    )


def _store_audio(audio_file) -> tuple[inputs.StoredInput, float, str]:
    from generator.audio import load_audio

    stored = inputs.input_store(
        audio_file, suffix=AUDIO_SUFFIX, max_bytes=settings.JOBS_MAX_AUDIO_BYTES
    )
    try:
        # Decoding is the only honest length check: containers can lie about their duration.
        clip = load_audio(str(stored.path), max_seconds=settings.JOBS_MAX_AUDIO_DECODE_SECONDS)
        mime = _audio_mime(stored)
    except GeneratorError as error:
        inputs.input_remove(stored.relative_path)
        raise ApplicationError(error.code, error.message) from error
    return stored, clip.duration_s, mime


def _audio_mime(stored: inputs.StoredInput) -> str:
    import av

    names = {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "flac": "audio/flac",
        "matroska,webm": "audio/webm",
        "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    }
    try:
        with av.open(str(stored.path)) as container:
            return names.get(container.format.name, "application/octet-stream")
    except (av.FFmpegError, OSError):
        return "application/octet-stream"


def _portrait_facts(identity, portrait_file) -> _PortraitFacts:
    from PIL import Image, UnidentifiedImageError

    from generator.face_analysis import face_descriptors, load_image

    reference = _reference_portrait(identity) if portrait_file is None else None
    source = inputs.media_path(reference.file.name) if reference else portrait_file
    stored = inputs.input_store(
        source, suffix=PORTRAIT_SUFFIX, max_bytes=settings.JOBS_MAX_PORTRAIT_BYTES
    )
    try:
        if reference is not None and reference.descriptor and reference.sha256 == stored.sha256:
            # The very file enrolment analysed (same SHA-256): its descriptor is already known,
            # which saves a face detection on every request that uses the enrolled portrait.
            descriptors = (tuple(float(x) for x in reference.descriptor),)
        else:
            image = load_image(str(stored.path), max_pixels=RenderConfig().max_pixels)
            portrait_shape_check(image.shape[1], image.shape[0])  # before dlib sees it
            descriptors = tuple(tuple(float(x) for x in d) for d in face_descriptors(image))
        with Image.open(stored.path) as handle:
            mime = Image.MIME.get(handle.format or "", "application/octet-stream")
    except BaseException as error:
        inputs.input_remove(stored.relative_path)  # whatever went wrong, keep no upload
        if isinstance(error, GeneratorError):
            raise ApplicationError(error.code, error.message) from error
        if isinstance(error, UnidentifiedImageError | OSError):
            raise ApplicationError(
                "invalid_image", "The portrait is not a readable image."
            ) from error
        raise
    return _PortraitFacts(stored, reference is not None, descriptors, mime)


def _reference_portrait(identity):
    portrait = identity.portraits.filter(deleted_at__isnull=True).order_by("-created_at").first()
    if portrait is None or not portrait.file:
        raise ApplicationError(
            "no_reference_portrait",
            "This identity has no enrolled reference portrait; upload a portrait for the job.",
        )
    return portrait


def _decision_context(
    *, requester, identity, grant, purpose, audio_seconds, controls, portrait, now
) -> DecisionContext:
    from consent.selectors import grant_policy_facts, identity_policy_facts

    since = now - timedelta(hours=24)
    return DecisionContext(
        now=now,
        requester=RequesterFacts(
            requester_id=requester.pk,
            approved=requester_is_approved(user=requester),
            active=requester.is_active,
            organisation_id=requester.organisation_id,
        ),
        identity=identity_policy_facts(identity=identity),
        grant=grant_policy_facts(grant=grant) if grant is not None else None,
        purpose=purpose,
        audio_seconds=audio_seconds,
        emotion=controls.emotion,
        # Download is decided when someone asks for the file, against the grant as it is then.
        wants_download=False,
        portrait_descriptors=portrait.descriptors,
        requester_jobs_last_24h=GenerationJob.objects.filter(
            requester=requester, created_at__gte=since
        ).count(),
        identity_jobs_last_24h=GenerationJob.objects.filter(
            identity=identity, created_at__gte=since
        ).count(),
        limits=_policy_limits(),
    )


def _decision_details(decision: Decision, *, identity, requester, purpose) -> dict:
    return {
        "decision_id": decision.decision_id,
        "reasons": decision.reason_codes,
        "policy_version": decision.policy_version,
        "identity_id": identity.pk,
        "requester_id": requester.pk,
        "purpose": purpose,
        "portrait_distance": decision.portrait_distance,
    }


def job_submit(
    *, requester, identity, purpose: str, audio_file, portrait_file=None, controls
) -> GenerationJob:
    """Ask for one video. Returns the queued job; raises PolicyDenied (an ApplicationError with
    `reasons`) when the policy says no, ApplicationError for unusable inputs.

    The denial is audit-logged in its own committed transaction before raising, and a denied
    request keeps none of its uploads.
    """
    from consent.selectors import grant_active_for

    controls = controls_from(controls)
    audio, audio_seconds, audio_mime = _store_audio(audio_file)
    try:
        portrait = _portrait_facts(identity, portrait_file)
    except BaseException:
        inputs.input_remove(audio.relative_path)
        raise
    now = timezone.now()
    grant = grant_active_for(identity=identity, requester=requester, purpose=purpose)
    context = _decision_context(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        audio_seconds=audio_seconds,
        controls=controls,
        portrait=portrait,
        now=now,
    )
    decision = decide(context)
    details = _decision_details(decision, identity=identity, requester=requester, purpose=purpose)
    if not decision.allowed:
        inputs.input_remove(audio.relative_path)
        inputs.input_remove(portrait.stored.relative_path)
        audit_record(
            action=AuditAction.POLICY_DECIDED,
            outcome="denied",
            actor=requester,
            subject_type="identity",
            subject_id=identity.pk,
            reason=decision.denial_message,
            details=details,
        )
        raise PolicyDenied(decision)
    try:
        return _job_create(
            requester=requester,
            identity=identity,
            grant=grant,
            purpose=purpose,
            controls=controls,
            audio=audio,
            audio_seconds=audio_seconds,
            audio_mime=audio_mime,
            portrait=portrait,
            decision=decision,
            details=details,
            now=now,
        )
    except BaseException:
        inputs.input_remove(audio.relative_path)
        inputs.input_remove(portrait.stored.relative_path)
        raise


@transaction.atomic
def _job_create(
    *,
    requester,
    identity,
    grant,
    purpose,
    controls,
    audio,
    audio_seconds,
    audio_mime,
    portrait,
    decision,
    details,
    now,
) -> GenerationJob:
    from generator.audio import frame_count

    job = GenerationJob(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        controls=controls_as_dict(controls),
        audio_file=audio.relative_path,
        audio_sha256=audio.sha256,
        audio_seconds=audio_seconds,
        audio_mime=audio_mime,
        portrait_file=portrait.stored.relative_path,
        portrait_sha256=portrait.stored.sha256,
        portrait_is_reference=portrait.is_reference,
        portrait_distance=decision.portrait_distance,
        portrait_mime=portrait.mime,
        frames_total=frame_count(audio_seconds, RenderConfig().fps),
        decision_id=decision.decision_id,
        policy_version=decision.policy_version,
    )
    job.full_clean(exclude=["ticket"])
    job.save()
    key = signing_key("ticket")
    claims = ticket_claims(
        job_id=job.pk,
        identity_id=identity.pk,
        grant_id=grant.pk,
        grant_version=grant.version,
        requester_id=requester.pk,
        purpose=purpose,
        portrait_sha256=job.portrait_sha256,
        audio_sha256=job.audio_sha256,
        decision_id=decision.decision_id,
        policy_version=decision.policy_version,
        controls=job.controls,
        now=now,
        lifetime=timedelta(minutes=settings.JOBS_TICKET_MINUTES),
    )
    job.ticket = issue_ticket(claims, key.private_key, key.key_id)
    job.save(update_fields=["ticket"])
    audit_record(
        action=AuditAction.POLICY_DECIDED,
        outcome="allowed",
        actor=requester,
        subject_type="identity",
        subject_id=identity.pk,
        details=details,
    )
    audit_record(
        action=AuditAction.JOB_SUBMITTED,
        actor=requester,
        subject_type="job",
        subject_id=job.pk,
        details={
            "job_id": job.pk,
            "identity_id": identity.pk,
            "requester_id": requester.pk,
            "grant_id": grant.pk,
            "decision_id": decision.decision_id,
            "audio_sha256": job.audio_sha256,
            "portrait_sha256": job.portrait_sha256,
        },
    )
    transaction.on_commit(lambda: job_enqueue(job_id=job.pk))
    return job


def job_enqueue(*, job_id: int) -> None:
    """Hand the job to a worker (or run it here when Celery is eager).

    Runs after commit: if the broker cannot take the task, the job is failed with that reason
    rather than left queued forever behind a request that already succeeded.
    """
    from kombu.exceptions import OperationalError

    from .tasks import run_generation

    try:
        run_generation.delay(job_id)
    except (OperationalError, OSError) as error:
        logger.exception("could not enqueue generation job %s", job_id)
        job = GenerationJob.objects.get(pk=job_id)
        _run_end(
            job,
            JobStatus.FAILED,
            JobRefusedError("queue_unavailable", f"The job queue is unavailable: {error}"),
        )


# --- revocation -----------------------------------------------------------------------------


@transaction.atomic
def job_revocation_apply(*, grant, actor) -> tuple[int, int]:
    """Consent was withdrawn: cancel the grant's queued and running jobs and mark its published
    outputs revoked. Runs inside consent_revoke's transaction. Returns (jobs cancelled, outputs
    marked).

    A running worker notices at its next progress save (the row is no longer running for it) and
    again before signing and before writing its record, so no output appears after this commits.
    """
    now = timezone.now()
    cancelled = 0
    # Revocation ends the grant's whole series (every version of this consent).
    jobs = GenerationJob.objects.select_for_update().filter(
        grant__series=grant.series, status__in=ACTIVE_STATUSES
    )
    for job in jobs:
        _job_finish(
            job,
            status=JobStatus.CANCELLED,
            code="consent_revoked",
            reason="The person withdrew their consent.",
            now=now,
        )
        audit_record(
            action=AuditAction.JOB_CANCELLED,
            actor=actor,
            subject_type="job",
            subject_id=job.pk,
            reason="consent revoked",
            details={"job_id": job.pk, "grant_id": grant.pk, "identity_id": job.identity_id},
        )
        cancelled += 1
    marked = OutputRecord.objects.filter(
        grant__series=grant.series, revoked_at__isnull=True
    ).update(revoked_at=now)
    return cancelled, marked


def _job_finish(job: GenerationJob, *, status: str, code: str, reason: str, now) -> None:
    job.status = status
    job.stage = {
        JobStatus.DONE: JobStage.DONE,
        JobStatus.FAILED: JobStage.FAILED,
        JobStatus.CANCELLED: JobStage.CANCELLED,
    }[status]
    job.failure_code = code
    job.failure_reason = reason
    job.finished_at = now
    if status == JobStatus.DONE:
        job.progress = 1.0
    # An ended job keeps its inputs' hashes (in the ticket, the manifest and the audit log), not
    # the portrait and speech themselves.
    inputs.inputs_remove_on_commit([job.audio_file, job.portrait_file])
    job.audio_file = job.portrait_file = ""
    job.save(
        update_fields=[
            "status",
            "stage",
            "failure_code",
            "failure_reason",
            "finished_at",
            "progress",
            "audio_file",
            "portrait_file",
        ]
    )


# --- the run --------------------------------------------------------------------------------


class JobRefusedError(Exception):
    """The job may not run (bad ticket, changed inputs, consent gone): fail it with `code`."""

    def __init__(self, code: str, message: str, *, cancel: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.cancel = cancel


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
    import secrets

    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None, "", "skipped"
        if job.is_final:
            return None, "", "skipped"
        if OutputRecord.objects.filter(job_id=job_id).exists():
            # Crashed between the record and the status write (impossible in one transaction,
            # but cheap to be sure): the output exists, so the job is done.
            _job_finish(job, status=JobStatus.DONE, code="", reason="", now=timezone.now())
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
    from consent.selectors import grant_active_for

    fresh = GenerationJob.objects.select_related("identity", "requester").get(pk=job.pk)
    if fresh.status != JobStatus.RUNNING or fresh.run_token != job.run_token:
        raise JobRefusedError(
            fresh.failure_code or "job_cancelled",
            fresh.failure_reason or "The job was cancelled.",
            cancel=True,
        )
    grant = grant_active_for(
        identity=fresh.identity, requester=fresh.requester, purpose=job.purpose
    )
    # A new version of the same consent that still covers this requester and purpose keeps the
    # job alive; revocation, expiry, or a scope change that drops them stops it.
    if grant is None or grant.series != job.grant.series:
        raise JobRefusedError(
            "consent_revoked", "The consent for this job is no longer active.", cancel=True
        )


def _verify_ticket(job: GenerationJob) -> None:
    try:
        portrait_sha = inputs.file_sha256(job.portrait_file)
        audio_sha = inputs.file_sha256(job.audio_file)
    except (OSError, ApplicationError) as error:
        # Inputs go when a job ends: a cancellation that landed just after this attempt claimed
        # the job has removed them already.
        raise JobRefusedError("input_missing", "The job's inputs are no longer stored.") from error
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
        raise JobRefusedError(error.code, error.message) from error


def _manifest_info(job: GenerationJob):
    from consent.selectors import receipt_for_grant
    from provenance.manifest import Ingredient, ManifestInfo

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
        _run_end(job, JobStatus.CANCELLED if error.cancel else JobStatus.FAILED, error)
        return RunOutcome(job_id=job_id, status="cancelled" if error.cancel else "failed")
    except JobCancelledError:
        _run_end(
            job,
            JobStatus.CANCELLED,
            JobRefusedError("job_cancelled", "The job was cancelled.", cancel=True),
        )
        return RunOutcome(job_id=job_id, status="cancelled")
    except (GeneratorError, ProvenanceError) as error:
        _run_end(job, JobStatus.FAILED, JobRefusedError(error.code, error.message))
        return RunOutcome(job_id=job_id, status="failed")


def _run_end(job: GenerationJob, status: str, error: JobRefusedError) -> None:
    """Record the end of a failed or cancelled attempt (once; the owner of the row only)."""
    with transaction.atomic():
        fresh = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if fresh.run_token != job.run_token:
            # The reaper or a redelivery gave the job to another attempt: its folder and its
            # row are that attempt's now.
            return
        shutil.rmtree(inputs.job_output_dir(job.pk), ignore_errors=True)
        if fresh.is_final:
            return  # revocation already cancelled it and logged that
        _job_finish(fresh, status=status, code=error.code, reason=error.message, now=timezone.now())
        audit_record(
            action=AuditAction.JOB_CANCELLED
            if status == JobStatus.CANCELLED
            else AuditAction.JOB_FAILED,
            outcome="denied" if status == JobStatus.CANCELLED else "error",
            subject_type="job",
            subject_id=job.pk,
            reason=error.message,
            details={"job_id": job.pk, "code": error.code, "identity_id": job.identity_id},
        )


def _run_claimed(job: GenerationJob) -> RunOutcome:
    from generator.audio import load_audio
    from generator.face_analysis import analyse_portrait, load_image
    from generator.pipeline import render
    from provenance.media import AudioTrack
    from provenance.payload import payload_for_record
    from provenance.publish import publish
    from provenance.watermark import mark_appearance

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

    import secrets

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
    record = OutputRecord(
        job=fresh,
        file_path=_relative_media(published.path),
        file_sha256=published.file_sha256,
        payload_hex=published.payload_hex,
        manifest_id=published.manifest_id,
        fingerprints=list(published.fingerprints),
        frames=published.frames,
        duration_s=published.duration_s,
        identity_id=fresh.identity_id,
        requester_id=fresh.requester_id,
        grant=fresh.grant,
        consent_version=fresh.grant.version,
        decision_id=fresh.decision_id,
        published_at=now,
    )
    record.full_clean(exclude=["job"])
    record.save(force_insert=True)
    fresh.frames_done = published.frames
    fresh.timings = {
        "analyse_ms": outcome.analyse_ms,
        "render_seconds": outcome.render_seconds,
        "publish_seconds": outcome.publish_seconds,
        "frames": outcome.frames,
        "phases": outcome.phases or {},
    }
    fresh.save(update_fields=["frames_done", "timings"])
    _job_finish(fresh, status=JobStatus.DONE, code="", reason="", now=now)
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


def _relative_media(path: str) -> str:
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT).resolve()
    return str(Path(path).resolve().relative_to(root))
