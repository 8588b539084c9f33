"""Writes for accounts: sign-up, requester applications and their review."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from core.errors import ApplicationError

from .models import (
    SELF_SERVICE_ROLES,
    USE_POLICY_VERSION,
    ApplicationStatus,
    Organisation,
    OrganisationInvitation,
    RequesterApplication,
    Role,
    User,
)

SIGN_UP_REFUSED = (
    "We could not create an account with these details. Try a different username, or sign in "
    "if you already have an account."
)


@transaction.atomic
def user_sign_up(
    *, username: str, email: str, password: str, role: str, full_name: str = ""
) -> User:
    """Self-service sign-up as a requester or a portrait owner (staff are made by admins)."""
    if role not in SELF_SERVICE_ROLES:
        raise ApplicationError(
            "You can sign up as a requester or a portrait owner.", code="invalid_role"
        )
    first, _, last = full_name.strip().partition(" ")
    user = User(username=username, email=email, role=role, first_name=first, last_name=last)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), code="weak_password") from error
    # OWASP (Authentication cheat sheet) asks for a generic answer at sign-up too; the usual one,
    # "check your email to finish", needs mail delivery that this platform does not have, and the
    # username is the sign-in name, so a refusal of a duplicate necessarily tells its sender
    # something. We say as little as Django allows: one message that does not name the reason,
    # given only after the password was accepted (so it is not told apart from a weak password
    # by the order of checks), with sign-up throttled per client.
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(SIGN_UP_REFUSED, code="sign_up_refused")
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(
        action=AuditAction.ACCOUNT_SIGNED_UP,
        actor=user,
        subject_type="user",
        subject_id=user.pk,
        details={"role": role},
    )
    return user


INVITATION_DAYS = 7


def invitation_code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


@transaction.atomic
def requester_application_submit(
    *,
    requester: User,
    intended_use: str,
    accept_use_policy: bool,
    organisation_name: str = "",
    invitation_code: str = "",
) -> RequesterApplication:
    """Apply for access, founding a new organisation by name or joining one by invitation.

    A name that already exists is refused: membership of an existing organisation (and with it
    every consent grant naming that organisation) comes only from its admin's invitation.
    The requester becomes a member only when a verifier approves the application.
    """
    if requester.role != Role.REQUESTER:
        raise ApplicationError("Only requester accounts apply for access.", code="not_a_requester")
    if not accept_use_policy:
        raise ApplicationError(
            "You must accept the use policy to apply.", code="policy_not_accepted"
        )
    if requester.applications.filter(status=ApplicationStatus.PENDING).exists():
        raise ApplicationError(
            "Your application is already waiting for review.", code="already_pending"
        )
    intended = intended_use.strip()
    if len(intended) < 20:
        raise ApplicationError(
            "Describe your intended use in at least 20 characters.", code="invalid_intended_use"
        )
    name, code = organisation_name.strip(), invitation_code.strip()
    if bool(name) == bool(code):
        raise ApplicationError(
            "Give either a new organisation's name or an invitation code to join one.",
            code="organisation_or_invitation",
        )
    if code:
        invitation = _invitation_redeem(code=code, requester=requester)
        organisation = invitation.organisation
    else:
        invitation = None
        organisation = _organisation_found(name=name)
    application = RequesterApplication(
        requester=requester,
        organisation=organisation,
        invitation=invitation,
        intended_use=intended,
        use_policy_version=USE_POLICY_VERSION,
        accepted_policy_at=timezone.now(),
    )
    application.full_clean()
    application.save()
    audit_record(
        action=AuditAction.ACCOUNT_APPLICATION_SUBMITTED,
        actor=requester,
        subject_type="application",
        subject_id=application.pk,
        details={
            "organisation": organisation.name,
            "organisation_id": organisation.pk,
            "joins_existing": invitation is not None,
            "use_policy_version": USE_POLICY_VERSION,
        },
    )
    return application


def _organisation_found(*, name: str) -> Organisation:
    if len(name) > 200:
        raise ApplicationError(
            "Give your organisation's name (up to 200 characters).", code="invalid_organisation"
        )
    if Organisation.objects.filter(name__iexact=name).exists():
        raise ApplicationError(
            f"An organisation named {name!r} already exists. To join it, ask its administrator "
            "for an invitation code; to found a new one, choose another name.",
            code="organisation_exists",
        )
    organisation = Organisation(name=name)
    organisation.full_clean()
    organisation.save()
    return organisation


def _invitation_redeem(*, code: str, requester: User) -> OrganisationInvitation:
    invitation = (
        OrganisationInvitation.objects.select_for_update()
        .select_related("organisation")
        .filter(code_hash=invitation_code_hash(code))
        .first()
    )
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.expires_at < timezone.now()
    ):
        # One message for unknown, used and expired codes: a guesser learns nothing.
        raise ApplicationError(
            "That invitation code is not valid. Ask for a new one.", code="invalid_invitation"
        )
    invitation.used_by = requester
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_by", "used_at"])
    return invitation


def organisation_invitation_create(
    *, organisation: Organisation, inviter: User
) -> tuple[OrganisationInvitation, str]:
    """The organisation's admin makes a single-use code for one person to apply with.

    Returns the invitation and the code; the code is shown once and never stored. A refusal is
    audited outside the issuing transaction, so it stays in the log although we raise.
    """
    if not (organisation.admin_id == inviter.pk and inviter.organisation_id == organisation.pk):
        audit_record(
            action=AuditAction.ORGANISATION_INVITATION_CREATE,
            outcome="denied",
            actor=inviter,
            subject_type="organisation",
            subject_id=organisation.pk,
            reason="not the organisation's admin",
        )
        raise ApplicationError(
            "Only the organisation's administrator invites members.",
            code="permission_denied",
            status_code=403,
        )
    return _invitation_issue(organisation=organisation, inviter=inviter)


@transaction.atomic
def _invitation_issue(
    *, organisation: Organisation, inviter: User
) -> tuple[OrganisationInvitation, str]:
    code = secrets.token_urlsafe(18)
    invitation = OrganisationInvitation(
        organisation=organisation,
        code_hash=invitation_code_hash(code),
        created_by=inviter,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(
        action=AuditAction.ORGANISATION_INVITATION_CREATED,
        actor=inviter,
        subject_type="organisation",
        subject_id=organisation.pk,
        details={"invitation_id": invitation.pk, "expires_at": invitation.expires_at.isoformat()},
    )
    return invitation, code


def verifier_required(
    *, user: User, action: str, subject_type: str, subject_id, message: str
) -> None:
    """Refuse anyone but a verifier (or admin): audit the refusal, then raise a 403.

    Call it outside the decision's transaction: the refusal must stay in the log although we
    raise.
    """
    if user.has_role(Role.VERIFIER, Role.ADMIN):
        return
    audit_record(
        action=action,
        outcome="denied",
        actor=user,
        subject_type=subject_type,
        subject_id=subject_id,
        reason="not a verifier",
    )
    raise ApplicationError(message, code="permission_denied", status_code=403)


def requester_application_review(
    *, application: RequesterApplication, verifier: User, approve: bool, reason: str
) -> RequesterApplication:
    """A verifier approves or rejects; the reason is required and both land in the audit log."""
    verifier_required(
        user=verifier,
        action=AuditAction.ACCOUNT_APPLICATION_REVIEW,
        subject_type="application",
        subject_id=application.pk,
        message="Only verifiers review applications.",
    )
    return _application_decide(
        application=application, verifier=verifier, approve=approve, reason=reason
    )


@transaction.atomic
def _application_decide(
    *, application: RequesterApplication, verifier: User, approve: bool, reason: str
) -> RequesterApplication:
    application = RequesterApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != ApplicationStatus.PENDING:
        raise ApplicationError(
            "This application has already been reviewed.", code="already_reviewed"
        )
    if not reason.strip():
        raise ApplicationError("Give a reason for your decision.", code="reason_required")
    if application.requester_id == verifier.pk:
        raise ApplicationError("You cannot review your own application.", code="own_application")
    application.status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    application.reviewed_by = verifier
    application.reviewed_at = timezone.now()
    application.review_reason = reason.strip()
    application.save()
    if approve:
        # Membership starts here, not at submission: an unreviewed applicant is in no one's
        # consent grant.
        requester = application.requester
        requester.organisation = application.organisation
        requester.save(update_fields=["organisation"])
        if (
            not application.joins_existing_organisation
            and application.organisation.admin_id is None
        ):
            application.organisation.admin = requester
            application.organisation.save(update_fields=["admin"])
    audit_record(
        action=AuditAction.ACCOUNT_APPLICATION_APPROVED
        if approve
        else AuditAction.ACCOUNT_APPLICATION_REJECTED,
        actor=verifier,
        subject_type="application",
        subject_id=application.pk,
        reason=application.review_reason,
        details={
            "requester_id": application.requester_id,
            "organisation_id": application.organisation_id,
            "joins_existing": application.joins_existing_organisation,
        },
    )
    return application


DEMO_ACCOUNTS = (
    ("demo-requester", Role.REQUESTER, "Riley Requester"),
    ("demo-owner", Role.OWNER, "Olivia Owner"),
    ("demo-verifier", Role.VERIFIER, "Victor Verifier"),
    ("demo-auditor", Role.AUDITOR, "Ada Auditor"),
    ("demo-admin", Role.ADMIN, "Alex Admin"),
)


def demo_password(username: str) -> str:
    """A per-installation demo password from SECRET_KEY: stable across runs, never stored."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo:{username}".encode(), hashlib.sha256)
    return "demo-" + digest.hexdigest()[:12]


@transaction.atomic
def demo_accounts_seed() -> list[tuple[str, str, str]]:
    """Create (or refresh) one demo account per role; the requester is approved. Returns
    (username, role, password) rows for printing."""
    rows = []
    verifier = None
    for username, role, full_name in DEMO_ACCOUNTS:
        first, _, last = full_name.partition(" ")
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": role, "first_name": first, "last_name": last}
        )
        password = demo_password(username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
        if created:
            audit_record(
                action=AuditAction.ACCOUNT_DEMO_SEEDED,
                subject_type="user",
                subject_id=user.pk,
                details={"role": role},
            )
        if role == Role.VERIFIER:
            verifier = user
        rows.append((username, role, password))
    requester = User.objects.get(username="demo-requester")
    if not requester.applications.filter(status=ApplicationStatus.APPROVED).exists():
        application = requester_application_submit(
            requester=requester,
            organisation_name="Demo Newsroom",
            intended_use="Demonstrating consented talking-face generation to new operators.",
            accept_use_policy=True,
        )
        requester_application_review(
            application=application,
            verifier=verifier,
            approve=True,
            reason="Demo account approved by the demo verifier.",
        )
    return rows
