"""The policy library's one exception hierarchy (stable `code`, one-line `message`)."""

from __future__ import annotations


class PolicyError(Exception):
    """Base class for every error this library raises on purpose (the same `(message, *, code)`
    shape as the generator's and provenance's errors)."""

    code = "policy_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class TicketError(PolicyError):
    """A generation ticket is malformed, unsigned, expired, or bound to other inputs.

    Codes: ticket_malformed, ticket_unknown_key, ticket_bad_signature, ticket_expired,
    ticket_not_yet_valid, ticket_job_mismatch, ticket_portrait_mismatch, ticket_audio_mismatch,
    ticket_invalid_claims.
    """

    code = "ticket_invalid"
