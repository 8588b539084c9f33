"""Live sessions and the nodes that hold them.

A session is also a GenerationJob (purpose, identity, grant, decision, status) so that its
recording is an ordinary OutputRecord: the registry, the detector, the requester's list of
videos and the owner's list of generations see it without knowing about live mode.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class LiveNode(models.Model):
    """A `manage.py live_node` process that registered itself: where to forward signalling."""

    name = models.CharField(max_length=64, unique=True)
    url = models.URLField()  # the node's private signalling endpoint (loopback by default)
    capacity = models.PositiveIntegerField(default=1)  # sessions it can hold at 25 fps
    active_sessions = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"live node {self.name} ({self.active_sessions}/{self.capacity})"


class LiveStatus(models.TextChoices):
    STARTING = "starting"  # allowed and ticketed, not yet answered by a node
    RUNNING = "running"
    ENDED = "ended"  # stopped or its audio ended; published
    TERMINATED = "terminated"  # consent revoked while it ran; nothing published
    FAILED = "failed"  # refused by a node, or it could not publish; nothing published


class LiveSession(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.OneToOneField(
        "jobs.GenerationJob", on_delete=models.PROTECT, related_name="live_session"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="live_sessions"
    )
    node = models.ForeignKey(LiveNode, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(
        max_length=16, choices=LiveStatus.choices, default=LiveStatus.STARTING
    )
    max_duration_s = models.PositiveIntegerField()
    ticket = models.TextField()
    end_reason = models.CharField(max_length=255, blank=True)
    frames_sent = models.PositiveIntegerField(default=0)
    # Measured by the node: setup_ms (ticket + analysis + marking), first_frame_ms, fps.
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"live session {self.public_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (LiveStatus.ENDED, LiveStatus.TERMINATED, LiveStatus.FAILED)
