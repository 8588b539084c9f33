"""People, their roles, organisations and requester applications."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

USE_POLICY_VERSION = "2026-11"


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    OWNER = "owner", "Portrait owner"
    VERIFIER = "verifier", "Verifier"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


SELF_SERVICE_ROLES = (Role.REQUESTER, Role.OWNER)
STAFF_ROLES = (Role.VERIFIER, Role.AUDITOR, Role.ADMIN)


class Organisation(models.Model):
    """A requester organisation. Its founder is its admin: only they let others join it, by a
    single-use invitation code, so typing an organisation's name never makes anyone a member."""

    name = models.CharField(max_length=200, unique=True)
    admin = models.ForeignKey(
        "User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="administered_organisations",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class OrganisationInvitation(models.Model):
    """A single-use, expiring code an organisation's admin gives to one person to join.

    Only the SHA-256 of the code is stored: a database leak must not let anyone join.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        "User", on_delete=models.CASCADE, related_name="organisation_invitations_sent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_by = models.ForeignKey(
        "User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisation_invitations_used",
    )
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.organisation_id}"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REQUESTER)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_authenticated and self.is_active and self.role in roles


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class RequesterApplication(models.Model):
    """A requester's request for access; only an approved one opens generation to them."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applications"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    # None: the application founds `organisation`; else the invitation its admin gave to join it.
    invitation = models.ForeignKey(
        OrganisationInvitation, null=True, blank=True, on_delete=models.PROTECT
    )
    intended_use = models.TextField()
    use_policy_version = models.CharField(max_length=16)
    accepted_policy_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_applications",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="application_status_idx")]

    def __str__(self) -> str:
        return f"application {self.pk} by {self.requester_id} ({self.status})"

    @property
    def joins_existing_organisation(self) -> bool:
        return self.invitation_id is not None
