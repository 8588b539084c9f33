"""Writes for the consent app: identities, grants, receipts, revocation and biometric deletion.

Elsewhere: portrait enrolment in consent.portraits, identity verification in
consent.verification, the receipt document in consent.receipts, scope checks in consent.scope.
Each service writes its audit event in its own transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.actions import AuditAction
from audit.services import audit_record
from consent import receipts
from consent.models import (
    ConsentGrant,
    ConsentReceipt,
    Identity,
    IdentityStatus,
    ReceiptEvent,
    ReferencePortrait,
)
from consent.scope import GrantScope, grant_scope_clean
from consent.selectors import grant_series_current
from consent.signals import grant_revoked, identity_biometrics_deleted
from core.errors import ApplicationError
from core.keys import signing_key


def identity_owner_check(identity: Identity, owner: User) -> None:
    """Refuse (403) unless `owner` is the identity's owner and still holds the owner role."""
    if identity.owner_id != owner.pk or not owner.has_role(Role.OWNER):
        raise ApplicationError(
            "Only the owner can do this for their identity.",
            code="not_your_identity",
            status_code=403,
        )


# --- identities ------------------------------------------------------------------------------


@transaction.atomic
def identity_create(*, owner: User, display_name: str) -> Identity:
    if not owner.has_role(Role.OWNER):
        raise ApplicationError(
            "Only portrait owners can add an identity.", code="not_an_owner", status_code=403
        )
    name = display_name.strip()
    if not name or len(name) > 150:
        raise ApplicationError(
            "Give the name you are known by (1-150 characters).", code="invalid_name"
        )
    identity = Identity(owner=owner, display_name=name)
    identity.full_clean()
    identity.save()
    audit_record(
        action=AuditAction.IDENTITY_CREATED,
        actor=owner,
        subject_type="identity",
        subject_id=identity.pk,
    )
    return identity


@transaction.atomic
def identity_likeness_protection_set(*, identity: Identity, owner: User, enabled: bool) -> Identity:
    """The owner decides whether the detector flags uploads showing their face."""
    identity_owner_check(identity, owner)
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    identity.likeness_protection = bool(enabled)
    identity.save(update_fields=["likeness_protection"])
    audit_record(
        action=AuditAction.IDENTITY_LIKENESS_PROTECTION_CHANGED,
        actor=owner,
        subject_type="identity",
        subject_id=identity.pk,
        details={"identity_id": identity.pk, "enabled": identity.likeness_protection},
    )
    return identity


# --- consent grants ---------------------------------------------------------------------------


def consent_grant(
    *, identity: Identity, owner: User, scope: GrantScope, base_url: str | None = None
) -> ConsentGrant:
    """Version 1 of a new consent, with its signed receipt."""
    identity_owner_check(identity, owner)
    identity = Identity.objects.get(pk=identity.pk)
    if identity.status != IdentityStatus.VERIFIED:
        raise ApplicationError(
            "Your identity must be verified before you grant consent.", code="identity_not_verified"
        )
    scope = grant_scope_clean(scope)
    with transaction.atomic():
        grant = _grant_create(identity=identity, scope=scope)
        receipt = consent_receipt_issue(grant=grant, event=ReceiptEvent.GRANTED, base_url=base_url)
        audit_record(
            action=AuditAction.CONSENT_GRANTED,
            actor=owner,
            subject_type="consent_grant",
            subject_id=grant.pk,
            details=_grant_audit_details(grant, receipt),
        )
    return grant


def consent_change(
    *, grant: ConsentGrant, owner: User, scope: GrantScope, base_url: str | None = None
) -> ConsentGrant:
    """A change of scope: a new version in the same series; the old one is superseded."""
    identity_owner_check(grant.identity, owner)
    scope = grant_scope_clean(scope)
    with transaction.atomic():
        current = ConsentGrant.objects.select_for_update().get(pk=grant.pk)
        if not current.is_active():
            raise ApplicationError(
                "Only an active consent can be changed; grant a new one.", code="grant_not_active"
            )
        current.superseded_at = timezone.now()
        current.save(update_fields=["superseded_at"])
        new = _grant_create(
            identity=current.identity,
            scope=scope,
            series=current.series,
            version=current.version + 1,
        )
        receipt = consent_receipt_issue(grant=new, event=ReceiptEvent.CHANGED, base_url=base_url)
        details = _grant_audit_details(new, receipt)
        details["previous_grant_id"] = current.pk
        audit_record(
            action=AuditAction.CONSENT_CHANGED,
            actor=owner,
            subject_type="consent_grant",
            subject_id=new.pk,
            details=details,
        )
    return new


def _grant_create(
    *, identity: Identity, scope: GrantScope, series=None, version: int = 1
) -> ConsentGrant:
    """`scope` has passed grant_scope_clean."""
    grant = ConsentGrant(
        identity=identity,
        version=version,
        purposes=list(scope.purposes),
        max_clip_seconds=scope.max_clip_seconds,
        allowed_emotions=list(scope.allowed_emotions),
        allow_download=scope.allow_download,
        allow_live=scope.allow_live,
        max_live_seconds=scope.max_live_seconds,
        expires_at=scope.expires_at,
    )
    if series is not None:
        grant.series = series
    grant.full_clean()
    grant.save()
    grant.requesters.set(scope.requesters)
    grant.organisations.set(scope.organisations)
    return grant


def _grant_audit_details(grant: ConsentGrant, receipt: ConsentReceipt) -> dict:
    return {
        "grant_id": grant.pk,
        "identity_id": grant.identity_id,
        "version": grant.version,
        "series": str(grant.series),
        "purposes": grant.purposes,
        "requester_ids": sorted(grant.requesters.values_list("pk", flat=True)),
        "organisation_ids": sorted(grant.organisations.values_list("pk", flat=True)),
        "expires_at": grant.expires_at.isoformat(),
        "receipt_id": str(receipt.receipt_id),
        "receipt_sha256": receipt.document_sha256,
    }


def consent_revoke(
    *, grant: ConsentGrant, owner: User, base_url: str | None = None
) -> ConsentGrant:
    """Withdraw consent at once: the series' current version is revoked, its queued and running
    jobs cancelled and its published outputs marked revoked, all in one transaction."""
    identity_owner_check(grant.identity, owner)
    with transaction.atomic():
        return _grant_revoke(grant=grant, actor=owner, base_url=base_url)


def _grant_revoke(*, grant: ConsentGrant, actor: User, base_url: str | None) -> ConsentGrant:
    current = ConsentGrant.objects.select_for_update().get(pk=grant_series_current(grant=grant).pk)
    if current.revoked_at is not None:
        raise ApplicationError("This consent was already withdrawn.", code="already_revoked")
    current.revoked_at = timezone.now()
    current.save(update_fields=["revoked_at"])
    jobs_cancelled, outputs_marked = _job_revocation_apply(grant=current, actor=actor)
    receipt = consent_receipt_issue(grant=current, event=ReceiptEvent.REVOKED, base_url=base_url)
    audit_record(
        action=AuditAction.CONSENT_REVOKED,
        actor=actor,
        subject_type="consent_grant",
        subject_id=current.pk,
        details={
            "grant_id": current.pk,
            "identity_id": current.identity_id,
            "jobs_cancelled": jobs_cancelled,
            "outputs_marked": outputs_marked,
            "receipt_id": str(receipt.receipt_id),
            "receipt_sha256": receipt.document_sha256,
        },
    )
    return current


def _job_revocation_apply(*, grant: ConsentGrant, actor: User) -> tuple[int, int]:
    """Tell the apps that act on a consent (jobs) that it ended; sum what they stopped."""
    answers = grant_revoked.send(sender=ConsentGrant, grant=grant, actor=actor)
    return (
        sum(jobs for _, (jobs, _outputs) in answers),
        sum(outputs for _, (_jobs, outputs) in answers),
    )


# --- receipts ---------------------------------------------------------------------------------


def consent_receipt_issue(
    *, grant: ConsentGrant, event: str, base_url: str | None = None
) -> ConsentReceipt:
    """Build, sign and store the receipt for one grant event (call inside the event's
    transaction)."""
    receipt = ConsentReceipt(grant=grant, event=event)
    document = receipts.receipt_sign(
        receipts.receipt_document(
            grant=grant, event=event, receipt_id=receipt.receipt_id, base_url=base_url
        ),
        key=signing_key("receipt"),
    )
    receipt.document = document
    receipt.document_sha256 = receipts.document_sha256(document)
    receipt.full_clean()
    receipt.save()
    return receipt


# --- biometric deletion -----------------------------------------------------------------------


def identity_biometrics_delete(
    *, identity: Identity, owner: User, base_url: str | None = None
) -> Identity:
    """Delete portraits, descriptors and verification clips; keep only their hashes.

    Active consents end too (with receipts): without a reference face no job could pass the
    face-match rule, and jobs already queued must not run on a likeness the owner took back.
    Files go once the transaction commits, so a rollback never leaves rows without files.
    """
    identity_owner_check(identity, owner)
    files: list = []
    with transaction.atomic():
        identity = Identity.objects.select_for_update().get(pk=identity.pk)
        if identity.biometrics_deleted:
            raise ApplicationError(
                "This identity's biometric data is gone.", code="already_deleted"
            )
        now = timezone.now()
        portraits = list(identity.portraits.filter(deleted_at__isnull=True))
        for portrait in portraits:
            if portrait.file:
                files.append(portrait.file.name)
            portrait.file = ""
            portrait.descriptor = None
            portrait.deleted_at = now
            portrait.save(update_fields=["file", "descriptor", "deleted_at"])
        clips = list(identity.verifications.exclude(clip=""))
        for verification in clips:
            files.append(verification.clip.name)
            verification.clip = ""
            verification.save(update_fields=["clip"])
        identity.reference_descriptor = None
        identity.biometric_deleted_at = now
        identity.save(update_fields=["reference_descriptor", "biometric_deleted_at"])
        revoked = []
        for grant in identity.grants.filter(
            revoked_at__isnull=True, superseded_at__isnull=True, expires_at__gt=now
        ):
            revoked.append(_grant_revoke(grant=grant, actor=owner, base_url=base_url).pk)
        # The generated videos show the face too (jobs deletes them and their job inputs).
        identity_biometrics_deleted.send(sender=Identity, identity=identity, actor=owner)
        audit_record(
            action=AuditAction.IDENTITY_BIOMETRICS_DELETED,
            actor=owner,
            subject_type="identity",
            subject_id=identity.pk,
            details={
                "identity_id": identity.pk,
                "portrait_sha256": [p.sha256 for p in portraits],
                "clip_sha256": [v.clip_sha256 for v in clips],
                "grants_revoked": revoked,
            },
        )
        storage = ReferencePortrait._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files])
    return identity
