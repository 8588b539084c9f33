"""One application error type and the one place errors become HTTP answers.

Services raise ApplicationError or let a library's own error (generator, provenance, policy)
through unchanged. Every error class here and in the libraries has one shape, `(message, *,
code)`, and `as_application_error` is the one place a library error becomes an ApplicationError:
the API answers each as `{"error": {"code", "message"}}`, portal views catch USER_FACING_ERRORS
and show the message as a form error, and management commands print one line on stderr and exit
non-zero.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from generator.errors import GeneratorError
from policy.errors import PolicyError
from provenance.errors import ProvenanceError

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure with a stable code and a message fit to show the person who caused it."""

    def __init__(self, message: str, *, code: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


# Every error whose message is fit for the person who caused it. Services let the libraries'
# errors through as they are; the API answers all of these as {code, message}, and portal views
# catch this tuple to show the message as a form error.
USER_FACING_ERRORS: tuple[type[Exception], ...] = (
    ApplicationError,
    GeneratorError,
    ProvenanceError,
    PolicyError,
)


def library_error_types() -> tuple[type[Exception], ...]:
    """The libraries' base error types: each maps to the same `{code, message}` answer."""
    return (GeneratorError, ProvenanceError, PolicyError)


def as_application_error(error: Exception) -> ApplicationError | None:
    """`error` as an ApplicationError: itself, a library error with its code and message and
    status 400 (the caller's input was at fault), or None for anything else (a bug: a 500)."""
    if isinstance(error, ApplicationError):
        return error
    if isinstance(error, library_error_types()):
        return ApplicationError(error.message, code=error.code)
    return None


def error_body(code: str, message: str, **extra) -> dict:
    body = {"code": code, "message": message}
    body.update(extra)
    return {"error": body}


def _flatten_detail(detail) -> str:
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = _flatten_detail(value)
            parts.append(text if field in ("non_field_errors", "detail") else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten_detail(item) for item in detail)
    return str(detail)


def api_exception_handler(exc, context):
    """DRF exception handler: every error as {"error": {"code", "message"}}, never a bare 500."""
    application_error = as_application_error(exc)
    if application_error is not None:
        return Response(
            error_body(application_error.code, application_error.message),
            status=application_error.status_code,
        )
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return Response(
            error_body("permission_denied", "You do not have permission to do this."),
            status=status.HTTP_403_FORBIDDEN,
        )
    if isinstance(exc, drf_exceptions.APIException):
        headers = {}
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.get_codes()
        if isinstance(exc, drf_exceptions.ValidationError):
            code_text = "invalid"
            extra = {"fields": exc.detail} if isinstance(exc.detail, dict) else {}
        else:
            code_text = code if isinstance(code, str) else exc.default_code
            extra = {}
        return Response(
            error_body(code_text, _flatten_detail(exc.detail), **extra),
            status=exc.status_code,
            headers=headers,
        )
    logger.exception("unhandled API error")
    return Response(
        error_body("server_error", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def json_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def json_server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=500,
        )
    return server_error(request)
