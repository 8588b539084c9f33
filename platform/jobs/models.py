"""Generation jobs and the output registry.

A `GenerationJob` is one request for a video: who asked, whose likeness, under which grant and
policy decision, with which inputs (stored under random names, bound by SHA-256 in the ticket).
An `OutputRecord` is the registry entry of one published video; its primary key is the job's,
so the record id the watermark carries IS the job id and a job can never have two outputs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class JobStage(models.TextChoices):
    """Where a job is; `progress` is the fraction of the current stage's work done."""

    QUEUED = "queued", "Queued"
    ANALYSING = "analysing", "Analysing the portrait"
    RENDERING = "rendering", "Rendering"
    PUBLISHING = "publishing", "Publishing (watermark check + encode)"
    SIGNING = "signing", "Signing the C2PA manifest"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class GenerationJob(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="generation_jobs"
    )
    identity = models.ForeignKey(
        "consent.Identity", on_delete=models.PROTECT, related_name="generation_jobs"
    )
    grant = models.ForeignKey(
        "consent.ConsentGrant", on_delete=models.PROTECT, related_name="generation_jobs"
    )
    purpose = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=16, choices=JobStage.choices, default=JobStage.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1 over the whole job (for the bar)
    frames_total = models.PositiveIntegerField(default=0)
    frames_done = models.PositiveIntegerField(default=0)
    controls = models.JSONField(default=dict)  # generator.config.Controls as a dict

    # Inputs, relative to MEDIA_ROOT, random names; the hashes are what the ticket binds. The
    # files are deleted (and the names blanked) when the job ends: only the hashes stay.
    audio_file = models.CharField(max_length=255)
    audio_sha256 = models.CharField(max_length=64)
    audio_seconds = models.FloatField(default=0.0)
    portrait_file = models.CharField(max_length=255)
    portrait_sha256 = models.CharField(max_length=64)
    portrait_is_reference = models.BooleanField(default=True)
    portrait_distance = models.FloatField(null=True, blank=True)  # to the reference descriptor
    audio_mime = models.CharField(max_length=64, blank=True)
    portrait_mime = models.CharField(max_length=64, blank=True)

    decision_id = models.CharField(max_length=64)
    policy_version = models.CharField(max_length=32, blank=True)
    ticket = models.TextField(blank=True)

    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)  # task starts, redeliveries included
    # Measured by the run that published: analyse_ms, render_seconds, publish_seconds, frames.
    timings = models.JSONField(default=dict, blank=True)
    # Which attempt owns the job now: a redelivered task takes over only from a silent one, and
    # only the owner may write progress or the output record.
    run_token = models.CharField(max_length=32, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="job_requester_idx"),
            models.Index(fields=["grant", "status"], name="job_grant_status_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status}/{self.stage})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class OutputRecord(models.Model):
    """The registry entry of one published, watermarked, signed video."""

    job = models.OneToOneField(
        GenerationJob, primary_key=True, on_delete=models.PROTECT, related_name="output"
    )
    file_path = models.CharField(max_length=255)  # relative to MEDIA_ROOT
    file_sha256 = models.CharField(max_length=64)
    payload_hex = models.CharField(max_length=32, unique=True)
    manifest_id = models.CharField(max_length=255, unique=True)
    fingerprints = models.JSONField(default=list)  # PDQ hex, one per second of video
    frames = models.PositiveIntegerField(default=0)
    duration_s = models.FloatField(default=0.0)
    identity = models.ForeignKey(
        "consent.Identity", on_delete=models.PROTECT, related_name="output_records"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="output_records"
    )
    grant = models.ForeignKey(
        "consent.ConsentGrant", on_delete=models.PROTECT, related_name="output_records"
    )
    consent_version = models.PositiveIntegerField()
    decision_id = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The file was deleted with the person's biometric data; the entry stays so detection still
    # names the video (payload, manifest, hashes) and reports it revoked.
    media_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"output record {self.pk}"

    @property
    def record_id(self) -> int:
        return self.job_id
