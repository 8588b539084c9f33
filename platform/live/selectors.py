"""Reads for live sessions and nodes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

from consent.models import ConsentGrant
from jobs.models import GenerationJob

from .models import LiveNode, LiveSession

NODE_FRESH_SECONDS = 5  # a node that has not registered for this long is presumed gone


def live_nodes_with_room() -> list[LiveNode]:
    """Registered, recently seen nodes with a free slot, the emptiest first."""
    fresh = timezone.now() - timedelta(seconds=NODE_FRESH_SECONDS)
    return list(
        LiveNode.objects.filter(last_seen__gte=fresh, active_sessions__lt=F("capacity")).order_by(
            "active_sessions", "name"
        )
    )


def live_nodes_alive() -> QuerySet[LiveNode]:
    fresh = timezone.now() - timedelta(seconds=NODE_FRESH_SECONDS)
    return LiveNode.objects.filter(last_seen__gte=fresh)


def live_session_for(*, public_id, user) -> LiveSession | None:
    """The session if `user` asked for it (the only person who may read or stop it)."""
    key = live_session_key(public_id)
    if key is None:
        return None
    return (
        LiveSession.objects.select_related("job", "node")
        .filter(public_id=key, requester=user)
        .first()
    )


def live_sessions_for_requester(*, user) -> QuerySet[LiveSession]:
    return LiveSession.objects.select_related("job").filter(requester=user)


def live_session_key(value) -> uuid.UUID | None:
    """A session's public id from untrusted text (None when it is not a UUID)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def live_consent_gone(*, job: GenerationJob, grant_version: int | None = None) -> str:
    """Why the consent behind a live session's job no longer holds ('' while it does), read
    fresh from the database. `grant_version` is the version a ticket was issued for, checked
    at admission; a running session's grant row never changes version (a change of scope
    supersedes it), so the heartbeat checks only that it is still active."""
    grant = ConsentGrant.objects.get(pk=job.grant_id)
    if not grant.is_active():  # revoked, superseded or expired
        return "The person withdrew their consent."
    if grant_version is not None and grant.version != grant_version:
        return "The consent changed since the session was allowed."
    return ""
