"""Revocation pushed to the nodes: when consent is withdrawn, each node holding a session of
that consent is told at once (after the revocation commits) to re-check it now, instead of at
its next 4-per-second poll. The poll stays as the fallback for a node that is not reachable.

The node does not take the message's word for it: it re-checks consent in the database and
ends the session only when the consent is gone, so the call cannot end a session that may go
on. It runs on a thread of its own, so an unreachable node never slows the owner's revocation.
"""

from __future__ import annotations

import logging
import threading
import urllib.error

from django.db import transaction
from django.dispatch import receiver

from consent.signals import grant_revoked

from .models import LiveSession, LiveStatus
from .signalling import node_post

logger = logging.getLogger(__name__)

RECHECK_TIMEOUT_S = 2.0


@receiver(grant_revoked)
def _grant_revoked(sender, *, grant, actor, **kwargs) -> tuple[int, int]:
    """Runs inside consent_revoke's transaction. The sessions' jobs are cancelled by jobs'
    receiver (counted there), so this stops nothing itself: (0, 0)."""
    targets = [
        (node_url, str(public_id))
        for node_url, public_id in LiveSession.objects.filter(
            job__grant__series=grant.series, status=LiveStatus.RUNNING, node__isnull=False
        ).values_list("node__url", "public_id")
    ]
    if targets:
        transaction.on_commit(lambda: live_nodes_notify(targets))
    return 0, 0


def live_nodes_notify(targets: list[tuple[str, str]]) -> threading.Thread:
    """Ask each (node url, session id) to re-check its consent now; returns the sending thread."""

    def send() -> None:
        for node_url, session_id in targets:
            try:
                node_post(f"{node_url}/sessions/{session_id}/recheck", {}, RECHECK_TIMEOUT_S)
            except (urllib.error.URLError, OSError, ValueError):
                # The node's own poll ends the session within CHECK_SECONDS anyway.
                logger.warning(
                    "live node %s did not take the revocation of %s", node_url, session_id
                )

    thread = threading.Thread(target=send, name="live-revocation", daemon=True)
    thread.start()
    return thread
