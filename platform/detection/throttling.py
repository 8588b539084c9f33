"""One rate limit ("detection" scope in REST_FRAMEWORK's rates) for the API and the portal page.

Checks are expensive (seconds of CPU), so the public upload form is limited exactly like the API:
the portal view asks the same DRF throttle, keyed by user or client address.
"""

from __future__ import annotations

from core.throttling import portal_rate_allowed

SCOPE = "detection"


def portal_upload_allowed(request) -> tuple[bool, float | None]:
    """(allowed, seconds to wait) for one more upload from this user or address."""
    return portal_rate_allowed(request, SCOPE)
