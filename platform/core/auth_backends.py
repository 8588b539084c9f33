"""Login lockout backend (django-axes) that only judges web sign-ins.

axes refuses authenticate() calls without a request; shells, management commands and Django's
test client call it without one, and there is no client or IP to lock out there, so those are
left to the next backend (ModelBackend) instead of failing.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class WebLockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
