"""Why a job stops before it is published."""

from __future__ import annotations


class JobRefusedError(Exception):
    """The job may not run on (bad ticket, changed inputs, consent gone): it ends failed with
    `code`, or cancelled when `cancel` (the person or the platform stopped it, nothing broke)."""

    def __init__(self, message: str, *, code: str, cancel: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.cancel = cancel
