"""Reads about accounts and access."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ApplicationStatus, Organisation, RequesterApplication, Role, User


def requester_latest_application(*, requester: User) -> RequesterApplication | None:
    return requester.applications.order_by("-created_at").first()


def requester_is_approved(*, user) -> bool:
    """Approved and active requester: the only people who may reach generation."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role != Role.REQUESTER:
        return False
    latest = requester_latest_application(requester=user)
    return latest is not None and latest.status == ApplicationStatus.APPROVED


def application_list_pending() -> QuerySet[RequesterApplication]:
    return RequesterApplication.objects.filter(status=ApplicationStatus.PENDING).select_related(
        "requester", "organisation"
    )


def application_list_reviewed(limit: int = 50) -> QuerySet[RequesterApplication]:
    return (
        RequesterApplication.objects.exclude(status=ApplicationStatus.PENDING)
        .select_related("requester", "organisation", "reviewed_by")
        .order_by("-reviewed_at")[:limit]
    )


def requester_organisation(*, requester: User) -> Organisation | None:
    """The organisation the requester is a member of (set when an application is approved)."""
    if requester.organisation_id is None or not requester_is_approved(user=requester):
        return None
    return requester.organisation


def organisation_members(*, organisation: Organisation) -> QuerySet[User]:
    return organisation.members.filter(is_active=True).order_by("username")


# Owners name who may use their likeness by an exact handle, never by picking from a list: a
# list would show every owner every requester and organisation on the platform.


def requester_find_approved(*, username: str) -> User | None:
    """The approved requester with exactly this username (case-insensitive), else None."""
    user = User.objects.filter(username__iexact=username.strip(), role=Role.REQUESTER).first()
    return user if user is not None and requester_is_approved(user=user) else None


def organisation_find_approved(*, name: str) -> Organisation | None:
    """The organisation with exactly this name if it has an approved member, else None (one
    whose founder's application is still pending has no members yet)."""
    organisation = Organisation.objects.filter(name__iexact=name.strip()).first()
    if organisation is None:
        return None
    members = organisation.members.filter(is_active=True, role=Role.REQUESTER)
    return organisation if any(requester_is_approved(user=m) for m in members) else None
