"""Writes for generation jobs: submission (policy + ticket).

`job_submit` is where a request meets the policy: inputs are stored and hashed, the job's
portrait is compared with the identity's reference face, every fact goes into
policy.decisions.decide (through jobs.policy_gate, which live sessions share), and the
decision is audit-logged whatever it is. Only an allowed decision makes a job, a signed ticket
and (after commit) a Celery task. What the task does is in jobs.run; how jobs end is in
jobs.finish; revocation and erasure in their own modules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import av
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.selectors import grant_active_for, identity_reference_portrait
from core.errors import ApplicationError
from core.image_shape import portrait_shape_check
from core.keys import signing_key
from generator.audio import frame_count, load_audio
from generator.config import RenderConfig
from generator.errors import GeneratorError
from generator.face_analysis import face_descriptors, load_image
from policy.decisions import decide
from policy.tickets import issue_ticket, ticket_claims
from provenance.errors import MediaError
from provenance.media import sniff_file

from . import inputs
from .controls import controls_as_dict, controls_from
from .models import GenerationJob
from .policy_gate import (
    PolicyDenied,
    decision_context,
    decision_details,
    policy_decision_audit,
)
from .tasks import job_enqueue

__all__ = ["PolicyDenied", "job_submit"]  # PolicyDenied stays importable from here for callers

logger = logging.getLogger(__name__)

AUDIO_SUFFIX = ".audio"
PORTRAIT_SUFFIX = ".portrait"


# --- submit ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PortraitFacts:
    stored: inputs.StoredInput
    is_reference: bool
    descriptors: tuple[tuple[float, ...], ...]
    mime: str


def _store_audio(audio_file) -> tuple[inputs.StoredInput, float, str]:

    stored = inputs.input_store(
        audio_file, suffix=AUDIO_SUFFIX, max_bytes=settings.JOBS_MAX_AUDIO_BYTES
    )
    try:
        # Decoding is the only honest length check: containers can lie about their duration.
        clip = load_audio(str(stored.path), max_seconds=settings.JOBS_MAX_AUDIO_DECODE_SECONDS)
        mime = _audio_mime(stored)
    except GeneratorError:
        inputs.input_remove(stored.relative_path)
        raise
    return stored, clip.duration_s, mime


def _audio_mime(stored: inputs.StoredInput) -> str:
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
        sniffed = sniff_file(stored.path)
        mime = sniffed.media_type if sniffed else "application/octet-stream"
    except BaseException as error:
        inputs.input_remove(stored.relative_path)  # whatever went wrong, keep no upload
        if isinstance(error, OSError | MediaError):
            raise ApplicationError(
                "The portrait is not a readable image.", code="invalid_image"
            ) from error
        raise
    return _PortraitFacts(stored, reference is not None, descriptors, mime)


def _reference_portrait(identity):
    portrait = identity_reference_portrait(identity=identity)
    if portrait is None or not portrait.file:
        raise ApplicationError(
            "This identity has no enrolled reference portrait; upload a portrait for the job.",
            code="no_reference_portrait",
        )
    return portrait


def job_submit(
    *, requester, identity, purpose: str, audio_file, portrait_file=None, controls
) -> GenerationJob:
    """Ask for one video. Returns the queued job; raises PolicyDenied (an ApplicationError with
    `reasons`) when the policy says no, ApplicationError for unusable inputs.

    The denial is audit-logged in its own committed transaction before raising, and a denied
    request keeps none of its uploads.
    """
    controls = controls_from(controls)
    audio, audio_seconds, audio_mime = _store_audio(audio_file)
    try:
        portrait = _portrait_facts(identity, portrait_file)
    except BaseException:
        inputs.input_remove(audio.relative_path)
        raise
    now = timezone.now()
    grant = grant_active_for(identity=identity, requester=requester, purpose=purpose)
    context = decision_context(
        requester=requester,
        identity=identity,
        grant=grant,
        purpose=purpose,
        audio_seconds=audio_seconds,
        emotion=controls.emotion,
        portrait_descriptors=portrait.descriptors,
        now=now,
    )
    decision = decide(context)
    details = decision_details(decision, identity=identity, requester=requester, purpose=purpose)
    if not decision.allowed:
        inputs.input_remove(audio.relative_path)
        inputs.input_remove(portrait.stored.relative_path)
        policy_decision_audit(
            requester=requester,
            identity=identity,
            details=details,
            denial=decision.denial_message,
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
    policy_decision_audit(requester=requester, identity=identity, details=details)
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
