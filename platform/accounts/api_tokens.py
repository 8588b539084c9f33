"""Writes for API tokens: issue, revoke one, revoke all (django-rest-knox).

Knox stores only a SHA-512 digest of each token and an expiry, so a database or admin reader
never sees a usable token; the caller is shown the token once, when it is issued.
"""

from __future__ import annotations

from django.db import transaction
from knox.models import AuthToken

from audit.actions import AuditAction
from audit.services import audit_record
from core.errors import ApplicationError

from .models import User
from .selectors import requester_is_approved


def api_token_issue(*, user: User) -> tuple[AuthToken, str]:
    """A new token for an approved requester; returns the row and the token (shown once).

    A refusal is audited outside the issuing transaction, so it stays in the log although we
    raise.
    """
    if not requester_is_approved(user=user):
        audit_record(
            action=AuditAction.API_TOKEN_REFUSED,
            outcome="denied",
            actor=user,
            subject_type="user",
            subject_id=user.pk,
            reason="not an approved requester",
        )
        raise ApplicationError(
            "API tokens are for approved requesters only.", code="not_approved", status_code=403
        )
    return _token_issue(user=user)


@transaction.atomic
def _token_issue(*, user: User) -> tuple[AuthToken, str]:
    instance, token = AuthToken.objects.create(user=user)
    audit_record(
        action=AuditAction.API_TOKEN_ISSUED,
        actor=user,
        subject_type="user",
        subject_id=user.pk,
        details={"token_id": instance.digest[:12], "expiry": _iso(instance.expiry)},
    )
    return instance, token


@transaction.atomic
def api_token_revoke(*, token: AuthToken, actor: User) -> None:
    """Revoke one token (signing out of the API with it, or an admin removing it)."""
    owner_id, token_id = token.user_id, token.digest[:12]
    token.delete()
    audit_record(
        action=AuditAction.API_TOKEN_REVOKED,
        actor=actor,
        subject_type="user",
        subject_id=owner_id,
        details={"token_id": token_id},
    )


@transaction.atomic
def api_token_revoke_all(*, user: User, actor: User) -> int:
    """Revoke every token of `user`; returns how many there were."""
    count, _ = AuthToken.objects.filter(user=user).delete()
    audit_record(
        action=AuditAction.API_TOKENS_REVOKED_ALL,
        actor=actor,
        subject_type="user",
        subject_id=user.pk,
        details={"count": count},
    )
    return count


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
