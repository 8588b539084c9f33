"""Per-request context (request id, client IP) that the audit log records with every event.

A contextvar rather than a parameter on every service: services stay callable from Celery tasks
and management commands, where there is no request and the fields are simply empty.
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
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


@functools.lru_cache(maxsize=8)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip_of(request) -> str | None:
    """The client's address: the connection's peer, unless that peer is one of TRUSTED_PROXIES.

    Then X-Forwarded-For is read from the right (each proxy appends the address it saw), past
    every trusted proxy, to the first address no trusted proxy vouches for. Anything to its left
    was written by the client and is ignored: otherwise anyone could forge the address that the
    audit log, the rate limits and the login lockout are keyed by.
    """
    peer = request.META.get("REMOTE_ADDR") or None
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    client = peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([hop.strip() for hop in hops if hop.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # not an address a proxy would write: stop at the last trusted hop
        client = hop
        if not _trusted(hop, networks):
            break
    return client


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
