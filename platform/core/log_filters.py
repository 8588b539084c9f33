"""A logging filter that keeps secrets out of log lines whatever a library decides to log."""

from __future__ import annotations

import logging
import re

# key=value or "key": "value" pairs whose value must never be written down.
_SECRET = re.compile(
    r"(?i)(password|passwd|secret|token|otp|api[_-]?key|authorization|sessionid|csrftoken)"
    r"(\"?\s*[:=]\s*\"?)([^\s\"&,;]+)"
)


def scrub(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)


class SecretScrubbingFilter(logging.Filter):
    """Rewrites the formatted message with secret values redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # The request object (django.request) carries POST data; formatters must not dump it.
        if hasattr(record, "request"):
            record.request = None
        return True
