"""Detections (one per checked upload, never the upload itself) and likeness alerts for owners."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class DetectionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    DONE = "done", "Checked"
    FAILED = "failed", "Could not be checked"


class VerdictChoice(models.TextChoices):
    PLATFORM = "platform", "Made by this platform"
    ALTERED_COPY = "altered_copy", "An altered copy of a platform output"
    NONE = "none", "No platform provenance found"


class Detection(models.Model):
    """One check of one upload: its hash, the verdict, the record it points at, and a summary.

    The id is a random UUID because the verdict page and the API answer are reachable by anyone
    holding the link: sequential ids would let anyone enumerate other people's checks.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=8, choices=DetectionStatus.choices, default=DetectionStatus.PENDING
    )
    # Never shown on public pages; lets a signed-in API client read back its own checks.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="detections",
    )
    upload_sha256 = models.CharField(max_length=64)
    media_kind = models.CharField(max_length=8, blank=True)  # image or video
    verdict = models.CharField(max_length=16, choices=VerdictChoice.choices, blank=True)
    record = models.ForeignKey(
        "jobs.OutputRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="detections",
    )
    summary = models.JSONField(default=dict, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    # Relative to MEDIA_ROOT, set only while an asynchronous check waits for its worker; the
    # file is deleted and this emptied once the check ends, whatever its outcome.
    pending_file = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["record", "-created_at"], name="detection_record_idx"),
            models.Index(fields=["upload_sha256"], name="detection_sha_idx"),
        ]

    def __str__(self) -> str:
        return f"detection {self.pk} ({self.status}/{self.verdict or '-'})"


class LikenessAlert(models.Model):
    """An upload without platform provenance showed a face matching a protected identity."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likeness_alerts"
    )
    identity = models.ForeignKey(
        "consent.Identity", on_delete=models.CASCADE, related_name="likeness_alerts"
    )
    detection = models.ForeignKey(Detection, on_delete=models.CASCADE, related_name="alerts")
    distance = models.FloatField()  # face descriptor distance (dlib: < 0.6 = same person)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"likeness alert {self.pk} for identity {self.identity_id}"


class IndexedOutput(models.Model):
    """A published output as detection workers hold it in memory, computed once at publish.

    `packed` is the scrambled payload value (8 bytes, big-endian) then its codeword in every bit
    order (provenance.watermark.packed, 60 bytes); `fingerprints` its PDQ hashes, 32 bytes each.
    Rows are only ever added, so `seq` is the high-water mark a worker polls to pick up new
    outputs without reloading the rest.
    """

    seq = models.BigAutoField(primary_key=True)
    # The OutputRecord's id (its watermark record id). A plain integer, not a foreign key: the
    # row is a derived copy the registry never deletes, and detect_bench fills a throwaway
    # registry with synthetic outputs that have no record.
    record_id = models.BigIntegerField(unique=True)
    packed = models.BinaryField()
    fingerprints = models.BinaryField()

    def __str__(self) -> str:
        return f"indexed output {self.record_id}"
