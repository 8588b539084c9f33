"""Short-lived signed links for the player.

The result page hands the `<video>` element a URL carrying a token signed for this record and
this user; the player route serves the file only with a fresh one. A copied link stops working
after JOBS_VIEW_LINK_SECONDS and never works for anyone else, so viewing without a download
right does not turn into a shareable download link.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_SALT = "jobs.output-view"


def _value(*, record, user) -> str:
    return f"{record.pk}:{user.pk}"


def output_view_token(*, record, user) -> str:
    """A token letting `user` play `record` for the next JOBS_VIEW_LINK_SECONDS."""
    return signing.TimestampSigner(salt=_SALT).sign(_value(record=record, user=user))


def output_view_token_valid(token: str, *, record, user) -> bool:
    """Whether `token` was signed here for this record and user and has not yet expired."""
    if not token:
        return False
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token, max_age=settings.JOBS_VIEW_LINK_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return False
    return value == _value(record=record, user=user)
