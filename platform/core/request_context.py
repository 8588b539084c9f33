"""Per-request context (request id, client IP) that the audit log records with every event.

A contextvar rather than a parameter on every service: services stay callable from Celery tasks
and management commands, where there is no request and the fields are simply empty.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

from django.conf import settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "request_context", default=None
)


def current_request_context() -> RequestContext:
    return _current.get() or _EMPTY


def client_ip_of(request) -> str | None:
    # Only trust X-Forwarded-For when the deployment says a proxy sets it; otherwise anyone
    # could forge the IP that lands in the audit log.
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45] or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = _current.set(RequestContext(request_id=request_id, client_ip=client_ip_of(request)))
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response
