"""Signed consent receipts: build, sign and verify (verification needs no database or network).

The builder reads the grant; `consent.services.consent_receipt_issue` stores what it signs.

The document follows the Kantara Consent Receipt Specification v1.1 field names, with the
record-level fields of ISO/IEC TS 27560 (record id, state, event, scope, retention, withdrawal
method) under "consentRecord". The `proof` carries the Ed25519 signature, the key id and the
public key, so anyone holding the file can check that no byte of meaning changed since signing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from policy.purposes import purpose_label

from .models import ConsentGrant, ReceiptEvent

RECEIPT_VERSION = "KI-CR-v1.1.0"
PROOF_TYPE = "Ed25519Signature2026"
CANONICALISATION = "JSON, keys sorted, separators (',', ':'), UTF-8, proof.signature omitted"


def canonical_bytes(document: dict) -> bytes:
    """The signed bytes: the whole document with `proof.signature` left out."""
    unsigned = dict(document)
    proof = dict(unsigned.get("proof") or {})
    proof.pop("signature", None)
    unsigned["proof"] = proof
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def receipt_sign(document: dict, *, key) -> dict:
    """Add the proof (type, key id, public key PEM, signature), signed with `key`
    (a core.keys.SigningKey)."""
    signed = dict(document)
    signed["proof"] = {
        "type": PROOF_TYPE,
        "keyId": key.key_id,
        "publicKeyPem": key.public_key_pem,
        "canonicalisation": CANONICALISATION,
    }
    signed["proof"]["signature"] = key.sign(canonical_bytes(signed))
    return signed


def document_sha256(document: dict) -> str:
    return hashlib.sha256(canonical_bytes(document) + b"|" + _signature(document)).hexdigest()


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    problems: list[str]
    key_id: str = ""
    receipt_id: str = ""


def receipt_verify(document: object) -> ReceiptCheck:
    """Check a receipt alone: well-formed, key id matches the embedded key, signature valid."""
    if not isinstance(document, dict):
        return ReceiptCheck(False, ["not a JSON object"])
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return ReceiptCheck(False, ["no proof: the receipt is unsigned"])
    problems: list[str] = []
    receipt_id = str(document.get("consentReceiptID", ""))
    key_id = str(proof.get("keyId", ""))
    if proof.get("type") != PROOF_TYPE:
        problems.append(f"unknown proof type {proof.get('type')!r}")
    if document.get("version") != RECEIPT_VERSION:
        problems.append(f"unknown receipt version {document.get('version')!r}")
    try:
        public_key = serialization.load_pem_public_key(str(proof.get("publicKeyPem", "")).encode())
    except ValueError:
        return ReceiptCheck(False, [*problems, "the embedded public key is unreadable"], key_id)
    if not isinstance(public_key, Ed25519PublicKey):
        return ReceiptCheck(False, [*problems, "the embedded key is not Ed25519"], key_id)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if hashlib.sha256(raw).hexdigest()[:16] != key_id:
        problems.append("the key id does not match the embedded public key")
    try:
        public_key.verify(_signature(document), canonical_bytes(document))
    except (InvalidSignature, ValueError):
        problems.append("the signature does not match the content: the receipt was changed")
    return ReceiptCheck(not problems, problems, key_id, receipt_id)


def public_key_pem_matches(document: dict, known_pem: str) -> bool:
    """Whether the receipt's embedded key is `known_pem` (compared as keys, not as text)."""
    try:
        embedded = serialization.load_pem_public_key(document["proof"]["publicKeyPem"].encode())
        known = serialization.load_pem_public_key(known_pem.encode())
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    encoding, fmt = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return embedded.public_bytes(encoding, fmt) == known.public_bytes(encoding, fmt)


def _signature(document: dict) -> bytes:
    try:
        return base64.b64decode(str(document["proof"]["signature"]), validate=True)
    except (KeyError, TypeError, ValueError):
        return b""


_STATE = {
    ReceiptEvent.GRANTED: "given",
    ReceiptEvent.CHANGED: "given",
    ReceiptEvent.REVOKED: "withdrawn",
}


def receipt_document(*, grant: ConsentGrant, event: str, receipt_id, base_url: str | None) -> dict:
    """The unsigned receipt of one grant event (the grant's scope, parties and withdrawal link)."""
    base = (base_url or settings.CONSENT_PUBLIC_BASE_URL).rstrip("/")
    now = timezone.now().replace(microsecond=0)
    identity = grant.identity
    requesters = sorted(grant.requesters.all(), key=lambda u: u.pk)
    organisations = sorted(grant.organisations.all(), key=lambda o: o.pk)
    third_parties = [f"{u.display_name} (requester account {u.pk})" for u in requesters] + [
        f"{o.name} (organisation)" for o in organisations
    ]
    termination = (
        f"Ends on {grant.expires_at.isoformat()} or when you withdraw it, whichever is first."
    )
    pii_categories = [
        "Facial image (reference portraits)",
        "Facial biometric template (dlib face descriptor)",
        "Identity-verification video recording",
        "Generated likeness (talking-face videos)",
    ]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": settings.CONSENT_JURISDICTION,
        "consentTimestamp": int(now.timestamp()),
        "collectionMethod": (
            "Web portal: consent grant form by the verified owner (identity verified by a "
            "recorded statement with a one-time code and human review)"
        ),
        "consentReceiptID": str(receipt_id),
        "language": "en",
        "piiPrincipalId": f"identity:{identity.pk}",
        "piiPrincipalName": identity.display_name,
        "piiControllers": [
            {
                "piiController": settings.PLATFORM_OPERATOR,
                "onBehalf": False,
                "contact": settings.CONSENT_CONTROLLER_CONTACT,
                "email": settings.CONSENT_CONTROLLER_CONTACT,
                "address": base,
            }
        ],
        "policyUrl": base + "/",
        "services": [
            {
                "service": "Consented talking-face video generation",
                "purposes": [
                    {
                        "purpose": purpose_label(code),
                        "purposeCategory": [code],
                        "consentType": "EXPLICIT",
                        "piiCategory": pii_categories,
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": bool(third_parties),
                        "thirdPartyName": "; ".join(third_parties),
                    }
                    for code in grant.purposes
                ],
            }
        ],
        "sensitive": True,
        "spiCat": ["Biometric data (facial)"],
        "consentRecord": {
            "recordId": str(receipt_id),
            "event": event,
            "state": _STATE[event],
            "eventTime": now.isoformat(),
            "grantId": grant.pk,
            "grantSeries": str(grant.series),
            "grantVersion": grant.version,
            "validFrom": grant.created_at.replace(microsecond=0).isoformat(),
            "expiresAt": grant.expires_at.replace(microsecond=0).isoformat(),
            "withdrawnAt": (
                grant.revoked_at.replace(microsecond=0).isoformat() if grant.revoked_at else None
            ),
            "scope": {
                "requesterIds": [u.pk for u in requesters],
                "organisations": [o.name for o in organisations],
                "purposes": list(grant.purposes),
                "maxClipSeconds": grant.max_clip_seconds,
                "allowedEmotions": list(grant.allowed_emotions),
                "allowDownload": grant.allow_download,
            },
            "retention": (
                "Consent records, receipts and hashes are kept for the audit log's lifetime; "
                "portraits, face descriptors and the verification recording until you delete "
                "them (one click on the identity page)."
            ),
            "withdrawalMethod": {
                "description": "One click on the consent page; effective immediately.",
                "url": base + reverse("consent:grant_revoke", args=[grant.pk]),
            },
            "receiptUrl": base + reverse("consent:grant_detail", args=[grant.pk]),
        },
    }
