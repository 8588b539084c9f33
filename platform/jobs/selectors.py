"""Reads about generation jobs and the output registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from consent.models import Identity
from consent.selectors import grant_active_for
from policy.purposes import purpose_label

from .models import GenerationJob, OutputRecord


def output_record_by_id(record_id: int) -> OutputRecord | None:
    """The registry entry whose watermark record id is `record_id` (the job id)."""
    if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id <= 0:
        return None
    return (
        OutputRecord.objects.select_related("job", "identity", "requester", "grant")
        .filter(pk=record_id)
        .first()
    )


def output_record_by_payload(value_hex: str) -> OutputRecord | None:
    """The registry entry whose watermark carries the scrambled value `value_hex`."""
    if not value_hex:
        return None
    return (
        OutputRecord.objects.select_related("job", "identity", "requester", "grant")
        .filter(payload_hex=value_hex.lower())
        .first()
    )


def output_record_by_manifest_id(manifest_id: str) -> OutputRecord | None:
    """The registry entry whose C2PA active manifest is `manifest_id`."""
    if not manifest_id:
        return None
    return (
        OutputRecord.objects.select_related("job", "identity", "requester", "grant")
        .filter(manifest_id=manifest_id)
        .first()
    )


def output_fingerprints() -> list[tuple[int, str]]:
    """(record id, PDQ hex) for every fingerprint of every published output."""
    rows = OutputRecord.objects.values_list("job_id", "fingerprints")
    return [(record_id, fingerprint) for record_id, prints in rows for fingerprint in prints]


def job_list_for_requester(*, requester) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(requester=requester).select_related("identity")


def job_get_for_requester(*, requester, job_id: int) -> GenerationJob | None:
    """The job if `requester` made it; None otherwise (never reveal other people's jobs)."""
    return (
        GenerationJob.objects.filter(pk=job_id, requester=requester)
        .select_related("identity", "grant")
        .first()
    )


def output_for_job(*, job: GenerationJob) -> OutputRecord | None:
    return OutputRecord.objects.filter(job=job).first()


@dataclass(frozen=True)
class OutputAccess:
    """What the platform may do with a published output now; `reason` says why not."""

    may_view: bool
    may_download: bool
    reason: str = ""


def output_access(*, record: OutputRecord) -> OutputAccess:
    """The one rule for every route that serves an output's file (player, download, API).

    The consent as it is now decides, the same way it decides whether a job may still run: the
    active grant naming the requester for the job's purpose must be a version of the record's
    grant. Viewing needs that; downloading also needs the grant to allow downloads. Once the
    consent expired, was withdrawn or no longer names the requester, the platform serves the
    file no more (neither player nor download): the requester keeps the result page and its
    provenance, and the registry still answers detection about the video.
    """
    if record.media_deleted_at is not None:
        return OutputAccess(False, False, "The person deleted this video with their face data.")
    if record.revoked_at is not None:
        return OutputAccess(False, False, "Consent for this video was withdrawn.")
    grant = grant_active_for(
        identity=record.identity, requester=record.requester, purpose=record.job.purpose
    )
    if grant is None or grant.series != record.grant.series:
        return OutputAccess(
            False, False, "The consent for this video is no longer active, so it is not served."
        )
    if not grant.allow_download:
        return OutputAccess(True, False, "The consent does not allow downloading this video.")
    return OutputAccess(True, True)


@dataclass(frozen=True)
class LikenessUse:
    """One generation made (or attempted) with an identity's likeness, as its owner sees it."""

    job_id: int
    created_at: datetime
    requester: str
    organisation: str
    purpose: str
    status: str
    grant_id: int
    grant_version: int
    published_at: datetime | None
    output_revoked_at: datetime | None


def likeness_uses_for_identity(*, identity: Identity) -> list[LikenessUse]:
    """Every generation job made with `identity`'s likeness, newest first (the owner's view)."""
    jobs = (
        GenerationJob.objects.filter(identity=identity)
        .select_related("requester", "requester__organisation", "grant")
        .order_by("-created_at")
    )
    uses = []
    for job in jobs:
        # The reverse one-to-one raises (an AttributeError subclass) when there is no output.
        output = getattr(job, "output", None)
        uses.append(
            LikenessUse(
                job_id=job.pk,
                created_at=job.created_at,
                requester=job.requester.display_name,
                organisation=getattr(job.requester.organisation, "name", ""),
                purpose=purpose_label(job.purpose),
                status=job.get_status_display(),
                grant_id=job.grant_id,
                grant_version=job.grant.version,
                published_at=getattr(output, "published_at", None),
                output_revoked_at=getattr(output, "revoked_at", None),
            )
        )
    return uses
