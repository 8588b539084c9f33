"""Refuse over-long URLs with the API's JSON error body.

gunicorn refuses a request line over its limit_request_line (config/gunicorn_conf.py: 8190
bytes, gunicorn's maximum) with its own plain-text 414, before Django sees the request. Below
that, this middleware answers anything longer than URL_MAX_LENGTH with a 414 in the
`{"error": {"code", "message"}}` shape every other error has; no page needs URLs that long.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from .errors import error_body


class UrlLengthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = len(request.META.get("PATH_INFO", "")) + len(request.META.get("QUERY_STRING", ""))
        limit = settings.URL_MAX_LENGTH
        if length > limit:
            return JsonResponse(
                error_body("uri_too_long", f"The URL is over {limit} characters long."),
                status=414,
            )
        return self.get_response(request)
