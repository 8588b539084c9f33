"""Reads for live sessions and nodes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

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
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        LiveSession.objects.select_related("job", "node")
        .filter(public_id=key, requester=user)
        .first()
    )


def live_sessions_for_requester(*, user) -> QuerySet[LiveSession]:
    return LiveSession.objects.select_related("job").filter(requester=user)
