"""How many checks may run at once, across every web process.

A check holds its upload on disk and seconds of CPU; a burst of them filled the disk and tripled
a generation job's time. Each check takes one of DETECTION_MAX_CONCURRENT slots in the shared
cache (an atomic add: Redis SET NX, or an insert into the cache table), and clips handed to a
worker count against DETECTION_MAX_PENDING. Past either, the check is refused at once with
"detection_busy" (503) rather than queued. A slot is a lease: one a killed process never gave back
frees itself after DETECTION_SLOT_LEASE_SECONDS.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.errors import ApplicationError

from .models import Detection, DetectionStatus

_SLOT_KEY = "detection-slot:{}"
# A pending detection older than this is presumed lost (its worker died) and stops counting.
_PENDING_WINDOW = timedelta(hours=1)


def _busy() -> ApplicationError:
    return ApplicationError(
        "Too many checks are running right now; try again in a minute.",
        code="detection_busy",
        status_code=503,
    )


@contextmanager
def detection_slot() -> Iterator[None]:
    """Hold one of the check slots for the duration of the block, or raise detection_busy."""
    token = secrets.token_hex(8)
    for index in range(settings.DETECTION_MAX_CONCURRENT):
        key = _SLOT_KEY.format(index)
        if cache.add(key, token, timeout=settings.DETECTION_SLOT_LEASE_SECONDS):
            try:
                yield
            finally:
                if cache.get(key) == token:  # not a lease that expired and went to another
                    cache.delete(key)
            return
    raise _busy()


def detection_pending_room_check() -> None:
    """Raise detection_busy when DETECTION_MAX_PENDING clips already wait for a worker."""
    since = timezone.now() - _PENDING_WINDOW
    waiting = Detection.objects.filter(status=DetectionStatus.PENDING, created_at__gte=since)
    if waiting.count() >= settings.DETECTION_MAX_PENDING:
        raise _busy()
