"""What a consent grant allows: who, for which purposes, how long a clip, which emotions, until
when. The portal form and the API both build a `GrantScope`; `grant_scope_clean` checks it once
for `consent_grant` and `consent_change`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Organisation, Role, User
from core.errors import ApplicationError
from generator.config import EMOTIONS
from policy.purposes import PURPOSES
from policy.tickets import MAX_LIVE_SECONDS


@dataclass(frozen=True)
class GrantScope:
    requesters: tuple[User, ...]
    organisations: tuple[Organisation, ...]
    purposes: tuple[str, ...]  # codes from policy.purposes.PURPOSES
    max_clip_seconds: int
    allowed_emotions: tuple[str, ...]  # from generator.config.EMOTIONS
    allow_download: bool = False
    allow_live: bool = False  # real-time sessions: off unless the owner says yes
    max_live_seconds: int = 300
    expires_at: datetime | None = None  # None: CONSENT_GRANT_DEFAULT_DAYS from now

    def __post_init__(self) -> None:
        # Callers pass lists; tuples keep a frozen scope hashable and unchanged once built.
        for name in ("requesters", "organisations", "purposes", "allowed_emotions"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def grant_scope_clean(scope: GrantScope) -> GrantScope:
    """The scope with sorted, de-duplicated purposes and emotions and a concrete expiry, or an
    ApplicationError naming the first thing wrong with it."""
    if not scope.requesters and not scope.organisations:
        raise ApplicationError(
            "Name at least one requester or organisation who may use your likeness.",
            code="no_one_named",
        )
    for person in scope.requesters:
        if person.role != Role.REQUESTER:
            raise ApplicationError(
                f"{person.get_username()} is not a requester account.", code="not_a_requester"
            )
    purposes = sorted(set(scope.purposes))
    if not purposes or any(p not in PURPOSES for p in purposes):
        raise ApplicationError(
            "Choose one or more purposes from the list.", code="invalid_purposes"
        )
    emotions = sorted(set(scope.allowed_emotions))
    if not emotions or any(e not in EMOTIONS for e in emotions):
        raise ApplicationError(
            f"Choose allowed emotions from: {', '.join(EMOTIONS)}.", code="invalid_emotions"
        )
    limit = settings.CONSENT_GRANT_MAX_CLIP_SECONDS
    if not 1 <= int(scope.max_clip_seconds) <= limit:
        raise ApplicationError(
            f"The longest clip must be between 1 and {limit} seconds.", code="invalid_clip_length"
        )
    if not 1 <= int(scope.max_live_seconds) <= MAX_LIVE_SECONDS:
        raise ApplicationError(
            f"The longest live session must be between 1 and {MAX_LIVE_SECONDS} seconds.",
            code="invalid_live_length",
        )
    now = timezone.now()
    expires_at = scope.expires_at
    if expires_at is None:
        expires_at = now + timedelta(days=settings.CONSENT_GRANT_DEFAULT_DAYS)
    if expires_at <= now:
        raise ApplicationError("The expiry date must be in the future.", code="invalid_expiry")
    # A day of slack so "one year from today" picked in a date field is accepted.
    if expires_at > now + timedelta(days=settings.CONSENT_GRANT_MAX_DAYS + 1):
        raise ApplicationError("Consent can last at most one year.", code="invalid_expiry")
    return replace(
        scope,
        purposes=tuple(purposes),
        max_clip_seconds=int(scope.max_clip_seconds),
        allowed_emotions=tuple(emotions),
        allow_download=bool(scope.allow_download),
        allow_live=bool(scope.allow_live),
        max_live_seconds=int(scope.max_live_seconds),
        expires_at=expires_at,
    )
