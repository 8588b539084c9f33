"""The policy library's one exception hierarchy (stable `code`, one-line `message`)."""

from __future__ import annotations


class PolicyError(Exception):
    """Base class for every error this library raises on purpose."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class TicketError(PolicyError):
    """A generation ticket is malformed, unsigned, expired, or bound to other inputs.

    Codes: ticket_malformed, ticket_unknown_key, ticket_bad_signature, ticket_expired,
    ticket_not_yet_valid, ticket_job_mismatch, ticket_portrait_mismatch, ticket_audio_mismatch,
    ticket_invalid_claims.
    """
