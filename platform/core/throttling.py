"""DRF's rate throttles, keyed by the proxy-aware client address and counted exactly across
processes.

DRF keys anonymous clients by the whole X-Forwarded-For header when NUM_PROXIES is unset, so a
client that rotated the header was never limited; and its check (read the request history, then
write it back) races between processes, so two gunicorn workers sharing a cache can each admit
the same slot. Here the client is core.request_context.client_ip_of (which trusts forwarding
headers only from TRUSTED_PROXIES), and each read-then-write runs under a lock that every process
sharing the cache respects.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction
from rest_framework import throttling

from .request_context import client_ip_of

_LOCAL_LOCK = threading.Lock()
_REDIS_LOCK_SECONDS = 5


def _advisory_lock_id(name: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


@contextmanager
def shared_cache_lock(name: str) -> Iterator[None]:
    """Hold `name` against every process that shares the default cache.

    Database cache: one transaction on the cache's database. On SQLite the settings' IMMEDIATE
    transaction mode takes the database's write lock at BEGIN, which serialises the section; on
    PostgreSQL a transaction-scoped advisory lock does. Redis: a Redis lock. Any other (per-process)
    cache: a thread lock is all that is needed.
    """
    backend = caches["default"]
    if isinstance(backend, DatabaseCache):
        alias = router.db_for_write(backend.cache_model_class)
        with transaction.atomic(using=alias):
            connection = connections[alias]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_lock_id(name)])
            yield
    elif isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)  # Django's RedisCache has no lock API
        lock = client.lock(
            f"lock:{name}", timeout=_REDIS_LOCK_SECONDS, blocking_timeout=_REDIS_LOCK_SECONDS
        )
        with lock:
            yield
    else:
        with _LOCAL_LOCK:
            yield


class _SharedExactThrottle:
    def get_ident(self, request) -> str:
        return client_ip_of(request) or "unknown"

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = f"throttle:user:{user.pk}"
        else:
            name = f"throttle:ip:{self.get_ident(request)}"
        with shared_cache_lock(name):
            return super().allow_request(request, view)


class AnonRateThrottle(_SharedExactThrottle, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_SharedExactThrottle, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_SharedExactThrottle, throttling.ScopedRateThrottle):
    pass


def portal_rate_allowed(request, scope: str) -> tuple[bool, float | None]:
    """(allowed, seconds to wait) for one more portal request counted against an API rate scope:
    a form and the API that does the same thing share one limit per user or client address."""
    throttle = ScopedRateThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        return True, None
    return False, throttle.wait()
