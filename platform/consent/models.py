"""Identities, their biometric references, identity verification, consent grants and receipts.

Biometric data (portrait files, descriptors, the consent clip) is kept apart from the facts that
must outlive it (hashes, decisions, receipts): deleting biometrics empties the former only.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organisation


def _random_name(folder: str, filename: str) -> str:
    # Random names: an upload's own name is attacker-chosen and may identify the person.
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    if not suffix.isascii() or not suffix[1:].isalnum():
        suffix = ""
    return f"consent/{folder}/{uuid.uuid4().hex}{suffix}"


def portrait_upload_to(instance, filename: str) -> str:
    return _random_name("portraits", filename)


def clip_upload_to(instance, filename: str) -> str:
    return _random_name("clips", filename)


class IdentityStatus(models.TextChoices):
    UNVERIFIED = "unverified", "Not verified"
    PENDING = "pending", "Waiting for review"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class Identity(models.Model):
    """A real person whose likeness may be used, owned by their own account."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identities"
    )
    display_name = models.CharField(max_length=150)
    status = models.CharField(
        max_length=12, choices=IdentityStatus.choices, default=IdentityStatus.UNVERIFIED
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    # Mean of the enrolled portraits' dlib descriptors: 128 floats, null once deleted.
    reference_descriptor = models.JSONField(null=True, blank=True)
    likeness_protection = models.BooleanField(
        default=True,
        help_text="Flag uploads showing this face in the detector, even without a watermark.",
    )
    biometric_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "identities"

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_verified(self) -> bool:
        return self.status == IdentityStatus.VERIFIED

    @property
    def biometrics_deleted(self) -> bool:
        return self.biometric_deleted_at is not None


class ReferencePortrait(models.Model):
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="portraits")
    file = models.FileField(upload_to=portrait_upload_to, max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    descriptor = models.JSONField(null=True, blank=True)  # 128 floats; null once deleted
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"portrait {self.pk} of identity {self.identity_id}"


class VerificationStatus(models.TextChoices):
    AWAITING_CLIP = "awaiting_clip", "Waiting for the recording"
    CHECKS_FAILED = "checks_failed", "Automatic checks failed"
    PENDING_REVIEW = "pending_review", "Waiting for a verifier"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class IdentityVerification(models.Model):
    """One attempt: a statement with a one-time code, the owner's clip reading it, the checks
    run on the clip, and a verifier's review."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="verifications")
    statement = models.TextField()
    code = models.CharField(max_length=16)
    code_expires_at = models.DateTimeField()
    code_used_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=VerificationStatus.choices,
        default=VerificationStatus.AWAITING_CLIP,
    )
    # The in-browser recorder's session: a single-use nonce (only its hash is kept) issued when
    # recording starts, so a clip labelled "recording" must come from this page, in this time.
    recording_nonce_sha256 = models.CharField(max_length=64, blank=True)
    recording_started_at = models.DateTimeField(null=True, blank=True)
    clip = models.FileField(upload_to=clip_upload_to, max_length=200, blank=True)
    clip_sha256 = models.CharField(max_length=64, blank=True)
    clip_source = models.CharField(max_length=16, blank=True)  # "recording" or "upload"
    checks = models.JSONField(default=dict, blank=True)
    match_distance = models.FloatField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="identity_reviews",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"verification {self.pk} of identity {self.identity_id} ({self.status})"


class ConsentGrant(models.Model):
    """One version of an owner's consent. A change of scope makes a new version in the same
    `series` and marks this one superseded; revocation ends the whole series."""

    identity = models.ForeignKey(Identity, on_delete=models.PROTECT, related_name="grants")
    series = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1)
    requesters = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="consent_grants"
    )
    organisations = models.ManyToManyField(Organisation, blank=True, related_name="consent_grants")
    purposes = models.JSONField(default=list)
    max_clip_seconds = models.PositiveIntegerField(default=60)
    allowed_emotions = models.JSONField(default=list)
    allow_download = models.BooleanField(default=False)
    # Live sessions (real-time WebRTC) need their own yes from the owner, and their own limit.
    allow_live = models.BooleanField(default=False)
    max_live_seconds = models.PositiveIntegerField(default=300)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="grant_series_version")
        ]
        indexes = [models.Index(fields=["identity", "revoked_at", "superseded_at"])]

    def __str__(self) -> str:
        return f"grant {self.pk} v{self.version} for identity {self.identity_id}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.superseded_at is None and self.expires_at > now

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.superseded_at is not None:
            return "superseded"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class ReceiptEvent(models.TextChoices):
    GRANTED = "granted", "Consent given"
    CHANGED = "changed", "Consent changed"
    REVOKED = "revoked", "Consent withdrawn"


class ConsentReceipt(models.Model):
    """A signed consent receipt (ISO/IEC TS 27560 / Kantara fields) for one grant event."""

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    grant = models.ForeignKey(ConsentGrant, on_delete=models.PROTECT, related_name="receipts")
    event = models.CharField(max_length=8, choices=ReceiptEvent.choices)
    document = models.JSONField()  # the whole signed receipt, exactly as downloaded
    document_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"receipt {self.receipt_id} ({self.event})"
