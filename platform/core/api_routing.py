"""One URL served by several API classes, one class per operation.

REST puts "list" and "create" on the same path (`GET /identities`, `POST /identities`); the
styleguide wants one class per operation. `api_operations` joins them under one URL without
merging their code: each request goes to the class that defines its method.
"""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from rest_framework.views import APIView


def api_operations(*views: type[APIView]):
    """A view for `path(...)` that hands each HTTP method to the one class defining it.

    Methods none of them define (PUT, OPTIONS, ...) go to a class joining all of them, so the
    405 lists every allowed method and OPTIONS describes the whole URL. drf-spectacular reads
    that joined class (`.cls`) to document every operation of the path.
    """
    handlers: dict[str, object] = {}
    for view in views:
        for method in view.http_method_names:
            if method != "options" and hasattr(view, method):
                if method in handlers:
                    raise ValueError(f"two API classes handle {method.upper()} on one URL")
                handlers[method] = view.as_view()
    joined = type("".join(v.__name__ for v in views), tuple(views), {"__doc__": views[0].__doc__})
    fallback = joined.as_view()

    @csrf_exempt  # as APIView.as_view(): DRF's authentication enforces CSRF for sessions
    def dispatch(request, *args, **kwargs):
        handler = handlers.get(request.method.lower(), fallback)
        return handler(request, *args, **kwargs)

    dispatch.cls = joined
    dispatch.initkwargs = {}
    return dispatch
