"""The fixed list of purposes an owner may consent to (and a requester may ask for).

A fixed list, not free text: consent is only meaningful when both sides name the same thing, and
the receipts, the policy and the reports all key on these codes.
"""

from __future__ import annotations

from types import MappingProxyType

PURPOSES: MappingProxyType[str, str] = MappingProxyType(
    {
        "news_explainer": "News and current-affairs explainers",
        "education": "Education and training material",
        "accessibility": "Accessibility (sign-language or lip-reading aids, narration)",
        "internal_communication": "Internal company communication",
        "marketing": "Marketing and advertising",
        "entertainment": "Entertainment and fiction",
        "personal": "The owner's own personal use",
    }
)


def purpose_label(code: str) -> str:
    """The human label of a purpose code; the code itself if it is not on the list."""
    return PURPOSES.get(code, code)


def purpose_choices() -> list[tuple[str, str]]:
    """(code, label) pairs, in list order, for forms and serializers."""
    return list(PURPOSES.items())
